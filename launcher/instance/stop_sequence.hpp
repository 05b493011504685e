#pragma once
// The one stop escalation, as a pure state machine (no I/O, no clock): powerdown -> wait for the
// guest -> quit -> SIGTERM -> SIGKILL, each later step after `escalate_after` without an exit.
// The supervisor drives it on its io_context (timers, its QMP connection, its child) and
// `mdevrun stop` drives it from outside (polling, the CLI monitor, kill(2)); both therefore stop
// a VM the same way and say the same thing about how it went.
//
// Usage: take step(); if it could not be taken (no monitor for powerdown/quit) call skip(),
// else wait up to wait() for qemu to exit and, if it did not, call advance(). When advance()
// returns false the sequence is exhausted (SIGKILL did not end qemu within escalate_after).
// Value type; not thread-safe.

#include <chrono>
#include <string>

namespace mdevrun {

enum class StopStep { powerdown, quit, terminate, kill };

/// The step as a log names it: "powerdown", "quit", "SIGTERM", "SIGKILL".
const char* step_name(StopStep step);

/// Each escalation after powerdown: quit -> SIGTERM -> SIGKILL -> give up.
inline constexpr std::chrono::milliseconds kEscalateAfter{5000};

struct StopPolicy {
  std::chrono::milliseconds guest_timeout{30000};  ///< powerdown until quit
  std::chrono::milliseconds escalate_after = kEscalateAfter;
  bool force = false;  ///< skip the powerdown: start at quit
};

class StopSequence {
 public:
  explicit StopSequence(StopPolicy policy);

  StopStep step() const { return step_; }
  /// How long to wait for qemu to exit once step() was taken.
  std::chrono::milliseconds wait() const;
  /// True for the steps that need a QMP monitor (powerdown, quit).
  bool needs_monitor() const { return step_ == StopStep::powerdown || step_ == StopStep::quit; }

  /// step() was taken and qemu did not exit within wait(): the next step. False when none is left.
  bool advance();
  /// step() could not be taken: the next step, without counting it as taken. False when none.
  bool skip();

  /// The guest powered itself off (qemu's SHUTDOWN, reason guest-shutdown) and qemu should now
  /// exit by itself; when it does not (qemu 7.2 can hang in its exit path), the caller goes on
  /// with advance() after escalate_after, and outcome() still says the guest powered down.
  void guest_shut_down() { guest_down_ = true; }
  bool guest_down() const { return guest_down_; }

  /// How the VM went, for a qemu that exited while step() was in effect: "powered down", "quit
  /// after the guest ignored powerdown for 30 s", "quit (forced)", "quit", "terminated
  /// (SIGTERM)", "killed (SIGKILL)"; after guest_shut_down(), "powered down" or "powered down;
  /// qemu did not exit by itself, terminated (SIGTERM)" and the like.
  std::string outcome() const;

 private:
  bool next();

  StopPolicy policy_;
  StopStep step_;
  bool powerdown_sent_ = false;
  bool guest_down_ = false;
};

}  // namespace mdevrun

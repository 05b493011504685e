#include "instance/stop_sequence.hpp"

namespace mdevrun {

StopSequence::StopSequence(StopPolicy policy)
    : policy_(policy), step_(policy.force ? StopStep::quit : StopStep::powerdown) {}

std::chrono::milliseconds StopSequence::wait() const {
  return step_ == StopStep::powerdown ? policy_.guest_timeout : policy_.escalate_after;
}

bool StopSequence::next() {
  switch (step_) {
    case StopStep::powerdown:
      step_ = StopStep::quit;
      return true;
    case StopStep::quit:
      step_ = StopStep::terminate;
      return true;
    case StopStep::terminate:
      step_ = StopStep::kill;
      return true;
    case StopStep::kill:
      return false;
  }
  return false;
}

bool StopSequence::advance() {
  if (step_ == StopStep::powerdown) powerdown_sent_ = true;
  return next();
}

bool StopSequence::skip() {
  return next();
}

std::string StopSequence::outcome() const {
  if (guest_down_) {
    if (step_ == StopStep::powerdown) return "powered down";
    const char* how = step_ == StopStep::quit        ? "quit"
                      : step_ == StopStep::terminate ? "terminated (SIGTERM)"
                                                     : "killed (SIGKILL)";
    return std::string("powered down; qemu did not exit by itself, ") + how;
  }
  switch (step_) {
    case StopStep::powerdown:
      return "powered down";
    case StopStep::quit:
      if (powerdown_sent_)
        return "quit after the guest ignored powerdown for " +
               std::to_string(policy_.guest_timeout.count() / 1000) + " s";
      return policy_.force ? "quit (forced)" : "quit";
    case StopStep::terminate:
      return "terminated (SIGTERM)";
    case StopStep::kill:
      return "killed (SIGKILL)";
  }
  return "stopped";
}

}  // namespace mdevrun

#pragma once
// One VM from a profile, start to cleanup: instance lock, mdevs ensured, helpers (swtpm,
// virtiofsd) started and ready, qemu spawned, QMP ready;
// then supervised until qemu exits; then the helpers are stopped, every mdev this run created is
// removed and the runtime
// directory deleted. While qemu runs, the supervisor serves monitor_socket() to any number of QMP
// clients (QmpMultiplexer, running on its io_context), with two verbs of its own: `mdevrun-stop`
// (this stop sequence) and `query-mdevrun` (what `mdevrun status` shows); with the serial in
// console mode it also holds qemu's serial, logs it and serves console_socket() (SerialConsole).
// The `mdevrun start` command is a thin shell around it, and C++ test suites use it directly, like
// qemu's QEMUMachine:
//
//   Supervisor vm(load_profile("vm.json"), {.host = Host::from_env()});
//   vm.start();                                  // throws Error; leaves nothing behind on failure
//   qmp::blocking_client c; c.connect(vm.cli_socket().string());   // qemu's own second monitor:
//                                                // the multiplexed one needs supervise() running
//   ...
//   vm.stop(std::chrono::seconds(30));           // or let the destructor clean up
//
// Threading: not thread-safe; call from one thread. start(), supervise() and stop() run the
// supervisor's io_context on the calling thread. Lifetime: the destructor stops qemu (forcefully
// if it must) and cleans up. Errors: mdevrun::Error with the documented exit code.
// Under systemd (host.notify_socket set, Type=notify) it reports READY=1 once qemu's monitor
// answered, STOPPING=1 when a stop begins or qemu exited, and STATUS= lines along the way.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "devices/mdev_ensure.hpp"
#include "devices/mdev_remove.hpp"
#include "devices/slice_ensure.hpp"
#include "instance/helper_processes.hpp"
#include "instance/runtime_dir.hpp"
#include "instance/stop_sequence.hpp"
#include "os/file_lock.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"
#include "qemu/qemu_process.hpp"

namespace qmp {
class client;
class listener;
struct reply;
}  // namespace qmp

namespace mdevrun {

class IntentJournal;
class QmpMultiplexer;
class SerialConsole;

struct SupervisorOptions {
  Host host;  ///< sysfs, /dev, /proc and the runtime directory (needs host.runtime)
  bool echo_qemu_output = false;                   ///< also copy qemu's output to our stderr
  std::chrono::milliseconds start_timeout{30000};  ///< spawn to qmp_capabilities reply
  std::chrono::milliseconds escalate_after = kEscalateAfter;  ///< quit -> SIGTERM -> SIGKILL
  RemoveOptions remove;                                       ///< bound on removing each owned mdev
};

class Supervisor {
 public:
  Supervisor(Profile profile, SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Takes the instance lock (cleaning up after a supervisor that died), ensures the mdevs, spawns
  /// qemu and returns once its monitor answered qmp_capabilities. On failure everything made so
  /// far is undone before the Error is thrown (qemu_start with qemu's last words and a hint,
  /// timeout, mdev, busy, ...).
  void start();

  /// Runs until qemu exits. SIGINT/SIGTERM start an orderly stop (powerdown, then escalation);
  /// a second SIGINT forces it. Cleans up, then returns the exit code for `mdevrun start`.
  int supervise(std::chrono::milliseconds stop_timeout = std::chrono::seconds(30));

  /// The StopSequence: system_powerdown -> wait up to `timeout` for qemu to exit -> quit ->
  /// SIGTERM -> SIGKILL (force: straight to quit), then clean up. Idempotent.
  void stop(std::chrono::milliseconds timeout, bool force = false);

  const std::string& name() const { return profile_.name; }
  const Profile& profile() const { return profile_; }
  pid_t qemu_pid() const;
  bool qemu_running() const;
  const std::vector<ResolvedMdev>& mdevs() const { return ensured_.mdevs; }
  const std::vector<ResolvedSlice>& slices() const { return slices_.slices; }
  /// qemu's second monitor, direct: one client at a time, served by qemu itself.
  std::filesystem::path cli_socket() const;
  /// The supervisor's QMP socket for any number of clients; answered while supervise() or stop()
  /// runs the io_context.
  std::filesystem::path monitor_socket() const;
  std::filesystem::path instance_dir() const;
  /// serial mode console: what `mdevrun console` connects to (served while the io_context runs).
  std::filesystem::path console_socket() const;
  /// The supervisor's own QMP connection (valid between start() and cleanup), on io_context().
  qmp::client& qmp();
  boost::asio::io_context& io_context() { return ioc_; }

 private:
  void start_steps();
  void wait_until_ready();
  [[noreturn]] void throw_start_failure();
  void begin_stop(std::chrono::milliseconds timeout, bool force);
  void take_stop_step();
  void run_until_qemu_exits();
  void start_multiplexer();
  void watch_guest_shutdown();
  void on_guest_shutdown();
  void stop_verb(const nlohmann::json& args, std::function<void(qmp::reply)> done);
  void query_verb(std::function<void(qmp::reply)> done);
  void finish_clients() noexcept;
  void log(const std::string& line) noexcept;
  void notify(const std::string& state) noexcept;
  void cleanup() noexcept;

  Profile profile_;
  SupervisorOptions opts_;
  RuntimeDir runtime_;
  boost::asio::io_context ioc_;
  boost::asio::steady_timer stop_timer_;
  std::optional<FileLock> instance_lock_;
  EnsureResult ensured_;
  SliceEnsureResult slices_;
  HelperProcesses helpers_;  // swtpm, virtiofsd: started before qemu, stopped after it
  std::unique_ptr<QemuProcess> qemu_;
  std::unique_ptr<qmp::client> qmp_;
  std::unique_ptr<QmpMultiplexer> mux_;
  std::unique_ptr<qmp::listener> shutdown_events_;  // qemu's SHUTDOWN, for its exit watchdog
  std::unique_ptr<SerialConsole> serial_;  // serial mode console: from before qemu to cleanup
  std::vector<std::function<void(qmp::reply)>> stop_waiters_;  // mdevrun-stop callers
  std::unique_ptr<IntentJournal> journal_;
  std::optional<StopSequence> stop_;
  bool stopping_ = false;
  bool stopped_by_us_ = false;
  bool cleaned_ = true;
  std::filesystem::path first_vars_copy_;  ///< made by the start in progress, for its failure
  std::vector<std::string> cleanup_errors_;
};

}  // namespace mdevrun

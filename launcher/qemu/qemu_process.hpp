#pragma once
// qemu as a child of the supervisor (started through process.hpp, argv only), its output
// appended to qemu.log and, in the foreground, echoed to our stderr, with the last lines kept for
// error messages.
//
// Threading: use from the thread running the io_context. Lifetime: the io_context must outlive
// the object; destroying it while the child runs kills the child (SIGKILL) and reaps it.
// The child gets PR_SET_PDEATHSIG=SIGKILL: if the supervisor dies, qemu dies with it, so the
// vfio device is released and the next mdevrun can clean up.

#include <sys/types.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace mdevrun {

class QemuProcess {
 public:
  /// Spawns argv[0] (looked up in PATH when it has no '/'). Throws Error(ExitCode::qemu_start)
  /// when it cannot be started.
  QemuProcess(boost::asio::io_context& ioc, const std::vector<std::string>& argv,
              const std::filesystem::path& log_file, bool echo_to_stderr);
  ~QemuProcess();
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  pid_t pid() const;
  bool running() const;
  /// Exited and its output fully read (last_lines() is complete).
  bool finished() const;
  /// Exit status as a shell reports it (128+signal for a signal); valid once !running().
  int exit_status() const;

  /// Called once, on the io_context, when the child has exited and its output is drained.
  void on_exit(std::function<void(int status)> handler);

  /// Sends `signal` to the child if it still runs.
  void signal(int signal);

  /// The last lines qemu printed (stdout and stderr together), oldest first.
  std::vector<std::string> last_lines() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mdevrun

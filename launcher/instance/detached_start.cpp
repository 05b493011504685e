#include "instance/detached_start.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"
#include "os/process.hpp"

namespace mdevrun {
namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

// The supervisor runs in a child in its own session, so it outlives this command and the
// terminal. It reports "exit code\nmessage" on the pipe once qemu is ready or start failed.
std::string start_detached(Profile profile, SupervisorOptions options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(ExitCode::failure, "pipe failed");
  ChildOptions detached;
  detached.output = ChildOptions::Output::null;
  detached.new_session = true;
  Child supervisor;
  try {
    supervisor = fork_call(
        [&] {
          ::close(fds[0]);
          Supervisor vm(std::move(profile), std::move(options));
          try {
            vm.start();
          } catch (const Error& e) {
            write_all(fds[1], std::to_string(static_cast<int>(e.code())) + "\n" + e.what());
            ::close(fds[1]);
            return static_cast<int>(e.code());
          }
          write_all(fds[1], "0\nstarted " + vm.name() + " (qemu pid " +
                                std::to_string(vm.qemu_pid()) + "); `mdevrun status " + vm.name() +
                                "`, `mdevrun stop " + vm.name() + "`");
          ::close(fds[1]);
          return vm.supervise();
        },
        detached);
  } catch (const SpawnError& e) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(ExitCode::failure, std::string("cannot start the supervisor: ") + e.what());
  }
  // It outlives this command: init reaps it.
  supervisor.release();
  ::close(fds[1]);
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  const auto nl = report.find('\n');
  if (nl == std::string::npos)
    throw Error(ExitCode::failure, "the supervisor died while starting; see `mdevrun list`");
  const int code = std::stoi(report.substr(0, nl));
  if (code != 0) throw Error(static_cast<ExitCode>(code), report.substr(nl + 1));
  return report.substr(nl + 1);
}

}  // namespace mdevrun

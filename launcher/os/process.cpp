#include "os/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

extern char** environ;

namespace mdevrun {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

// PATH lookup in the parent: execvp in a forked child of a threaded process may allocate.
std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view rest = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::string candidate;
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    candidate.assign(dir.empty() ? std::string_view(".") : dir);
    candidate.push_back('/');
    candidate.append(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

namespace {

// In the child, before exec or the body: only async-signal-safe calls. Returns an errno, or 0.
int setup_child(const ChildOptions& o, pid_t parent, int output_fd) {
  // A blocked signal stays blocked across fork and exec: no child inherits our mask.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (o.die_with_parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
    if (::getppid() != parent) return ESRCH;  // the parent died before prctl took effect
  }
  if (o.own_process_group && ::setpgid(0, 0) != 0) return errno;
  if (o.new_session && ::setsid() < 0) return errno;
  if (o.stdin_null || o.output == ChildOptions::Output::null) {
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return errno;
    if (o.stdin_null && ::dup2(null, 0) < 0) return errno;
    if (o.output == ChildOptions::Output::null && (::dup2(null, 1) < 0 || ::dup2(null, 2) < 0))
      return errno;
  }
  if ((o.output == ChildOptions::Output::pipe || o.output == ChildOptions::Output::file) &&
      (::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0))
    return errno;
  if (o.read_only_folder) {
    const char* dir = o.read_only_folder->c_str();  // built before fork: no allocation here
    if (::unshare(CLONE_NEWNS) != 0) return errno;
    // Private first, or the bind mount would propagate back to the host's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
    if (::mount(dir, dir, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
    if (::mount(nullptr, dir, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return errno;
  }
  if (o.output == ChildOptions::Output::pipe_stdout && ::dup2(output_fd, 1) < 0) return errno;
  return 0;
}

void write_errno(int fd, int error) {
  [[maybe_unused]] const auto n = ::write(fd, &error, sizeof error);
}

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw SpawnError(std::string("pipe: ") + std::strerror(errno), errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// fork with the child set up; `run` is the child's work (exec, or a body) and never returns.
template <typename Run>
Child fork_child(const ChildOptions& options, const std::string& what, Run run) {
  Pipe report = make_pipe();  // the child's setup/exec errno; EOF means exec succeeded
  Pipe output;
  if (options.output == ChildOptions::Output::pipe ||
      options.output == ChildOptions::Output::pipe_stdout)
    output = make_pipe();
  if (options.output == ChildOptions::Output::file) {
    // Opened here, not in the child: the error reaches the caller as a SpawnError naming it.
    output.write = UniqueFd(::open(options.output_file.c_str(),
                                   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!output.write)
      throw SpawnError("cannot open " + options.output_file.string() + ": " + std::strerror(errno),
                       errno);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SpawnError("cannot start " + what + ": fork: " + std::strerror(errno), errno);
  if (pid == 0) {
    if (const int error = setup_child(options, parent, output.write.get())) {
      write_errno(report.write.get(), error);
      ::_exit(127);
    }
    run(report.write.get());
    ::_exit(127);
  }
  report.write.reset();
  output.write.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  Child child(pid, std::move(pidfd), std::move(output.read));
  int error = 0;
  ssize_t n;
  while ((n = ::read(report.read.get(), &error, sizeof error)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof error)) {
    child.wait_until(Clock::now() + std::chrono::seconds(5));
    throw SpawnError("cannot start " + what + ": " + std::strerror(error), error);
  }
  return child;
}

}  // namespace

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

Child::Child(pid_t pid, UniqueFd pidfd, UniqueFd output)
    : pid_(pid), pidfd_(std::move(pidfd)), output_(std::move(output)) {}

Child::~Child() {
  if (pid_ > 0 && !status_) kill_and_reap();
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      output_(std::move(other.output_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    output_ = std::move(other.output_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

std::optional<int> Child::wait_until(Clock::time_point deadline) {
  if (status_ || pid_ <= 0) return status_;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) return status_ = shell_status(status);
    if (done < 0 && errno != EINTR) return status_ = -1;  // reaped elsewhere: status unknown
    const auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    // Rounded up: a wait never ends before its deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int wait_ms = static_cast<int>(std::min<long long>(left, INT_MAX));
    if (pidfd_) {
      pollfd p{pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, wait_ms);
    } else {  // kernels before 5.3 have no pidfd
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait_ms, 5)));
    }
  }
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Child::kill_and_reap(std::chrono::milliseconds bound) {
  signal(SIGKILL);
  auto status = wait_until(Clock::now() + bound);
  if (!status) release();  // the kernel holds it (uninterruptible): init reaps it later
  return status;
}

void Child::release() {
  pid_ = -1;
  pidfd_.reset();
}

Child spawn(const std::vector<std::string>& argv, const ChildOptions& options) {
  if (argv.empty()) throw SpawnError("cannot start a program: empty argv", EINVAL);
  const std::string path = find_in_path(argv[0]);
  if (path.empty()) throw SpawnError("cannot find \"" + argv[0] + "\" in PATH", ENOENT);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return fork_child(options, path, [&](int report) {
    // An ignored SIGPIPE survives exec: mdevrun ignores it (main.cpp), qemu and helpers must not
    // inherit that. A fork_call body is mdevrun's own code and keeps it ignored.
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(path.c_str(), args.data(), environ);
    write_errno(report, errno);
  });
}

Child fork_call(const std::function<int()>& body, const ChildOptions& options) {
  return fork_child(options, "a child process", [&](int report) {
    ::close(report);  // EOF now: the setup worked and the body runs
    if (options.close_inherited_fds) ::close_range(3, ~0U, 0);
    int code = 70;  // EX_SOFTWARE: an exception must not unwind into the parent's frames
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code & 0xff);
  });
}

}  // namespace mdevrun

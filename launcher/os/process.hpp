#pragma once
// The one module that creates processes. Every child of mdevrun starts here: qemu, helper programs
// (`qemu -display help`), the bounded sysfs `remove` write and the detached supervisor. argv only,
// never a shell. Each child has a pidfd, so waiting with a deadline needs no SIGCHLD handler and no
// polling, and a pid is never confused with a recycled one.
//
// Errors: spawn() throws SpawnError (with the errno of the failed step, exec's included: it is
// reported back from the child before exec replaces it). Threading: a Child is used from one
// thread. Lifetime: destroying a Child that still runs kills it (SIGKILL) and reaps it, bounded,
// unless release() handed it over.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "os/unique_fd.hpp"

namespace mdevrun {

struct SpawnError : std::runtime_error {
  SpawnError(const std::string& what, int error) : std::runtime_error(what), error(error) {}
  int error;  ///< errno: ENOENT for a program not found, EACCES for one not executable, ...
};

struct ChildOptions {
  enum class Output {
    inherit,      ///< stdout and stderr are ours
    null,         ///< both to /dev/null
    pipe,         ///< both to one pipe: Child::output(), in the order written
    pipe_stdout,  ///< stdout to Child::output(), stderr ours
    file,         ///< both appended to output_file (created 0600)
  };
  Output output = Output::inherit;
  bool stdin_null = true;          ///< stdin from /dev/null (else ours)
  bool die_with_parent = false;    ///< PR_SET_PDEATHSIG=SIGKILL: gone when we are
  bool own_process_group = false;  ///< setpgid(0, 0): a terminal's Ctrl-C does not reach it
  bool new_session = false;        ///< setsid(): no controlling terminal, outlives our session
  /// fork_call only: the child closes every descriptor above stderr before `body`, so it holds
  /// none of our locks (an flock lives as long as any copy of its descriptor) while it runs.
  bool close_inherited_fds = false;
  std::filesystem::path output_file{};  ///< Output::file: where stdout and stderr go
  /// spawn only: the child gets a mount namespace of its own in which this folder is a read-only
  /// bind mount (submounts stay as they are), so the program cannot write below it. Needs
  /// CAP_SYS_ADMIN; a failure fails the spawn with its errno.
  std::optional<std::filesystem::path> read_only_folder{};
};

class Child {
 public:
  Child() = default;
  Child(pid_t pid, UniqueFd pidfd, UniqueFd output);
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) noexcept;

  pid_t pid() const { return pid_; }
  /// Readable (poll/epoll, or an Asio descriptor) once the child has exited.
  int pidfd() const { return pidfd_.get(); }
  /// The read end of the output pipe (Output::pipe or pipe_stdout), else invalid.
  UniqueFd& output() { return output_; }

  /// Waits until the child exits or `deadline` passes. The exit status as a shell reports it
  /// (128+signal for a signal), or none while it still runs. After an exit, returns it again.
  std::optional<int> wait_until(std::chrono::steady_clock::time_point deadline);
  /// Already exited? Reaps it then (never blocks).
  std::optional<int> try_wait() { return wait_until({}); }
  /// Sends `signal` if the child has not been reaped.
  void signal(int signal) const;
  /// SIGKILL, then waits at most `bound` for it to go. A process the kernel holds (an
  /// uninterruptible write) may outlive the bound: it is left to init, and none is returned.
  std::optional<int> kill_and_reap(std::chrono::milliseconds bound = std::chrono::seconds(2));
  /// Forgets the child without killing it (it outlives this object).
  void release();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd output_;
  std::optional<int> status_;
};

/// `name` itself when it has a '/', else the first executable `<dir>/name` along $PATH (like
/// execvp; unset PATH: /usr/local/bin:/usr/bin:/bin); empty when there is none.
std::string find_in_path(const std::string& name);

/// Starts argv[0] (looked up in PATH when it has no '/') with argv. Throws SpawnError.
Child spawn(const std::vector<std::string>& argv, const ChildOptions& options = {});

/// Runs `body` in a forked child (no exec) and exits the child with its return value. For work
/// that must be abandonable (a write the kernel may block) or must outlive us (`start --detach`).
/// With threads running, `body` may use only async-signal-safe calls. Throws SpawnError.
Child fork_call(const std::function<int()>& body, const ChildOptions& options = {});

/// Converts a waitpid status to a shell's exit code (128+signal for a signal).
int shell_status(int wait_status);

}  // namespace mdevrun

#pragma once
// The helper programs of one instance (swtpm, virtiofsd), supervised like qemu: started before it
// through os/process (argv only, PR_SET_PDEATHSIG: they die with the supervisor), each journaled
// before it starts, ready when its socket accepts (or exists, see HelperCommand), stopped after
// qemu. Whatever a crash leaves is found by the socket its argv names (instance_undo).
//
// Threading: one thread. Lifetime: destroying the object kills and reaps what still runs.
// Errors: start() throws Error(qemu_start) naming the helper, with its last log lines.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "os/process.hpp"
#include "qemu/helper_cmdline.hpp"

namespace mdevrun {

class IntentJournal;

class HelperProcesses {
 public:
  using Started = std::function<void(const HelperCommand&, pid_t)>;

  /// Starts `helpers` in order, each journaled first and waited for until ready or `deadline`.
  /// `started` is called after each spawn (the supervisor records the pid). On failure the
  /// helpers started so far keep running until stop() (the caller's cleanup).
  void start(const std::vector<HelperCommand>& helpers, IntentJournal& journal,
             std::chrono::steady_clock::time_point deadline, const Started& started = {});

  /// Newest first: SIGTERM, up to `bound` for it to exit, then SIGKILL. Never throws.
  void stop(std::chrono::milliseconds bound = std::chrono::seconds(2)) noexcept;

  std::size_t running() const { return children_.size(); }

  /// What `status` shows of one helper started so far.
  struct Status {
    std::string name;  ///< HelperCommand::name
    pid_t pid;
    std::filesystem::path socket, log;
    std::optional<int> exit_status;  ///< set once it exited (reaped here), as a shell reports it
  };
  /// In start order. Reaps a helper that exited (never blocks).
  std::vector<Status> status();

 private:
  struct Running {
    Child child;
    std::string name;
    std::filesystem::path socket, log;
  };
  std::vector<Running> children_;
};

}  // namespace mdevrun

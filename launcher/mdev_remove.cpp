#include "mdev_remove.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "error.hpp"
#include "mdev_discovery.hpp"
#include "sysfs_write.hpp"
#include "uuid.hpp"
#include "vfio_holders.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Waits for child `pid` until `deadline`. Returns its exit status, or -1 if it is still running.
int wait_child(pid_t pid, int pidfd, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return -1;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long long>(left, 5)));
    }
  }
}

struct BoundedWrite {
  int error = 0;  ///< errno of the write when it finished
  bool timed_out = false;
};

// One write(2) of `value` to `path` in a child process, so a write that blocks in the kernel can be
// abandoned: the caller gets on with a clear error and the process can still exit.
BoundedWrite write_bounded(const fs::path& path, std::string_view value,
                           std::chrono::milliseconds timeout) {
  const pid_t pid = ::fork();
  if (pid < 0) return {errno, false};
  if (pid == 0) {
    // Only async-signal-safe calls from here on (the parent may have threads).
    ::_exit(write_sysfs(path, value) & 0xff);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  BoundedWrite out;
  int status = wait_child(pid, pidfd, Clock::now() + timeout);
  if (status == -1) {
    out.timed_out = true;
    ::kill(pid, SIGKILL);
    // A killed writer normally goes at once; if the kernel keeps it (uninterruptible wait), it is
    // left to finish on its own and is reaped by init after we exit.
    wait_child(pid, pidfd, Clock::now() + std::chrono::seconds(2));
  } else {
    out.error = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
  }
  if (pidfd >= 0) ::close(pidfd);
  return out;
}

std::string holders_of(const SysfsRoots& roots, const std::optional<int>& group,
                       const RemoveOptions& options) {
  if (!group) return "the device has no IOMMU group, so its users cannot be named";
  const fs::path node = roots.vfio_node(*group);
  const auto holders = find_node_holders(node, options.proc_root);
  if (holders.empty())
    return "no process visible to this user holds " + node.string() +
           " (as root all processes are visible)";
  return node.string() + " is held by " + describe_holders(holders);
}

}  // namespace

bool remove_mdev(const SysfsRoots& roots, std::string_view uuid_text,
                 const RemoveOptions& options) {
  const std::string uuid = normalize_uuid(uuid_text).value_or(std::string(uuid_text));
  const auto device = find_device(roots, uuid);
  if (!device) return false;
  const fs::path remove_file = device->sysfs_path / "remove";
  const BoundedWrite result = write_bounded(remove_file, "1", options.timeout);
  if (result.timed_out)
    throw Error(ExitCode::busy, "removing mdev " + uuid + " did not finish within " +
                                    format_seconds(options.timeout) + ": " +
                                    holders_of(roots, device->iommu_group, options) +
                                    "; stop it, then remove the mdev again");
  const int error = result.error;
  if (error == 0 || error == ENOENT || error == ENODEV) {
    if (!find_device(roots, uuid)) return error == 0;
    if (error == 0)
      throw Error(ExitCode::mdev, "mdev " + uuid + " is still present after writing " +
                                      remove_file.string() + ": check the kernel log (dmesg)");
  }
  if (error == EBUSY)
    throw Error(ExitCode::busy, "cannot remove mdev " + uuid + ": it is in use (EBUSY); " +
                                    holders_of(roots, device->iommu_group, options) +
                                    "; stop it first");
  if (error == EACCES || error == EPERM)
    throw Error(ExitCode::permission, "cannot remove mdev " + uuid + ": no permission to write " +
                                          remove_file.string() + " (" + errno_name(error) +
                                          "): run mdevrun as root");
  throw Error(ExitCode::mdev, "cannot remove mdev " + uuid + ": writing " + remove_file.string() +
                                  " failed: " + std::strerror(error) + " (" + errno_name(error) +
                                  ")");
}

std::vector<RemoveOutcome> remove_owned_mdevs(const std::vector<MdevRecord>& records,
                                              const SysfsRoots& roots, const RemoveOptions& options,
                                              bool force) {
  std::vector<RemoveOutcome> outcomes;
  for (const auto& m : records) outcomes.push_back({m, RemoveResult::kept});
  std::optional<Error> first;
  std::string others;
  for (auto it = outcomes.rbegin(); it != outcomes.rend(); ++it) {
    if (!it->mdev.created && !force) continue;
    try {
      it->result = remove_mdev(roots, it->mdev.uuid, options) ? RemoveResult::removed
                                                              : RemoveResult::already_gone;
    } catch (const Error& e) {
      if (!first)
        first = e;
      else
        others += std::string("; ") + e.what();
    }
  }
  if (first) throw Error(first->code(), first->what() + others);
  return outcomes;
}

}  // namespace mdevrun

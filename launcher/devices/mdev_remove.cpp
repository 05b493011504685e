#include "devices/mdev_remove.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/error.hpp"
#include "base/uuid.hpp"
#include "devices/mdev_discovery.hpp"
#include "os/process.hpp"
#include "os/sysfs_write.hpp"
#include "os/vfio_holders.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

struct BoundedWrite {
  int error = 0;  ///< errno of the write when it finished
  bool timed_out = false;
};

// One write(2) of `value` to `path` in a child process, so a write that blocks in the kernel can be
// abandoned: the caller gets on with a clear error and the process can still exit.
BoundedWrite write_bounded(const fs::path& path, std::string_view value,
                           std::chrono::milliseconds timeout) {
  std::optional<Child> child;
  try {
    // The body runs in a fork of a possibly threaded process: write_sysfs is open + write only.
    // It keeps none of our descriptors: a write stuck in the kernel must not keep the instance
    // and UUID locks held after we exit, or the instance would look alive to `mdevrun list`.
    ChildOptions writer;
    writer.close_inherited_fds = true;
    child = fork_call([&] { return write_sysfs(path, value); }, writer);
  } catch (const SpawnError& e) {
    return {e.error, false};
  }
  const auto status = child->wait_until(Clock::now() + timeout);
  if (!status) {
    // A killed writer normally goes at once; if the kernel keeps it (uninterruptible wait), it is
    // left to finish on its own and is reaped by init after we exit.
    child->kill_and_reap();
    return {0, true};
  }
  return {*status >= 0 && *status < 128 ? *status : EINTR, false};
}

std::string holders_of(const Host& host, const std::optional<int>& group) {
  if (!group) return "the device has no IOMMU group, so its users cannot be named";
  const fs::path node = host.vfio_node(*group);
  const auto holders = find_node_holders(node, host.proc);
  if (holders.empty())
    return "no process visible to this user holds " + node.string() +
           " (as root all processes are visible)";
  return node.string() + " is held by " + describe_holders(holders);
}

}  // namespace

bool remove_mdev(const Host& host, std::string_view uuid_text, const RemoveOptions& options) {
  const std::string uuid = normalize_uuid(uuid_text).value_or(std::string(uuid_text));
  const auto device = find_device(host, uuid);
  if (!device) return false;
  const fs::path remove_file = device->sysfs_path / "remove";
  const std::uint64_t intent =
      options.log ? options.log->intend({DeviceChange::Kind::remove_mdev,
                                         {{}, uuid, device->parent, device->type, true}})
                  : 0;
  const BoundedWrite result = write_bounded(remove_file, "1", options.timeout);
  if (options.log) {
    // Done only when the device is gone: a remove that failed keeps the device owned.
    const bool gone = !result.timed_out && !find_device(host, uuid);
    options.log->finish(intent, gone               ? 0
                                : result.timed_out ? ETIMEDOUT
                                : result.error     ? result.error
                                                   : EIO);
  }
  if (result.timed_out)
    throw Error(ExitCode::busy, "removing mdev " + uuid + " did not finish within " +
                                    format_seconds(options.timeout) + ": " +
                                    holders_of(host, device->iommu_group) +
                                    "; stop it, then remove the mdev again");
  const int error = result.error;
  if (error == 0 || error == ENOENT || error == ENODEV) {
    if (!find_device(host, uuid)) return error == 0;
    if (error == 0)
      throw Error(ExitCode::mdev, "mdev " + uuid + " is still present after writing " +
                                      remove_file.string() + ": check the kernel log (dmesg)");
  }
  if (error == EBUSY)
    throw Error(ExitCode::busy, "cannot remove mdev " + uuid + ": it is in use (EBUSY); " +
                                    holders_of(host, device->iommu_group) + "; stop it first");
  if (error == EACCES || error == EPERM)
    throw Error(ExitCode::permission, "cannot remove mdev " + uuid + ": no permission to write " +
                                          remove_file.string() + " (" + errno_name(error) +
                                          "): run mdevrun as root");
  throw Error(ExitCode::mdev, "cannot remove mdev " + uuid + ": writing " + remove_file.string() +
                                  " failed: " + std::strerror(error) + " (" + errno_name(error) +
                                  ")");
}

std::vector<RemoveOutcome> remove_owned_mdevs(const std::vector<MdevRecord>& records,
                                              const Host& host, const RemoveOptions& options,
                                              bool force) {
  std::vector<RemoveOutcome> outcomes;
  for (const auto& m : records) outcomes.push_back({m, RemoveResult::kept});
  std::optional<Error> first;
  std::string others;
  for (auto it = outcomes.rbegin(); it != outcomes.rend(); ++it) {
    if (!it->mdev.created && !force) continue;
    try {
      it->result = remove_mdev(host, it->mdev.uuid, options) ? RemoveResult::removed
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

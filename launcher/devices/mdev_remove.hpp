#pragma once
// Removing mdevs, bounded. Writing `remove` blocks in the kernel while a process (qemu) still has
// the device open, so the write runs in a child process that is abandoned after a timeout; the
// error then names whoever holds /dev/vfio/<group>. Only mdevs the instance created are removed
// unless forced.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "devices/change_log.hpp"
#include "devices/mdev_record.hpp"
#include "os/host.hpp"

namespace mdevrun {

struct RemoveOptions {
  std::chrono::milliseconds timeout{10000};  ///< bound on one write to `remove`
  ChangeLog* log = nullptr;                  ///< told before and after each `remove` write
};

/// Removes the mdev `uuid`. Returns true when it was removed, false when it did not exist (nothing
/// to do). Throws Error(busy) when the kernel says EBUSY or the write did not finish within the
/// timeout (the message names the processes holding its /dev/vfio node), Error(permission) on
/// EACCES/EPERM, Error(mdev) otherwise.
bool remove_mdev(const Host& host, std::string_view uuid, const RemoveOptions& options = {});

enum class RemoveResult { removed, already_gone, kept };

struct RemoveOutcome {
  MdevRecord mdev;
  RemoveResult result = RemoveResult::kept;
};

/// Removes the mdevs in `records` that the instance created (all of them when `force`), in
/// reverse order; mdevs not created by it are kept. A recorded device that is already gone (a stale
/// record) counts as success. Tries every device; if any failed, throws the first failure's Error
/// with the others' messages appended. Returns one outcome per recorded mdev, in record order.
std::vector<RemoveOutcome> remove_owned_mdevs(const std::vector<MdevRecord>& records,
                                              const Host& host, const RemoveOptions& options = {},
                                              bool force = false);

}  // namespace mdevrun

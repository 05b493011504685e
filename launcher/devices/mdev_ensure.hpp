#pragma once
// Making sure the profile's mdevs exist before qemu starts: reuse a device that already has the
// right parent and type, otherwise create it with one write of its UUID to the type's `create`
// file, then confirm the device folder, its IOMMU group and /dev/vfio/<group>. A lock per UUID
// keeps two launchers off one mdev; ownership (created here or not) goes to a caller-supplied
// recorder (the instance layer's state file: record_ownership_in) so only created devices are
// removed later. This layer never reads or writes instance state itself.

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "devices/change_log.hpp"
#include "devices/mdev_record.hpp"
#include "devices/mdev_remove.hpp"
#include "devices/resolved_mdev.hpp"
#include "os/file_lock.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

enum class EnsureMode {
  create,   ///< reuse or create every mdev; take the locks; record ownership
  dry_run,  ///< read only: report what `create` would do (or why it would fail) as notes
};

struct EnsureOptions {
  /// Folder for the per-UUID lock files (RuntimeDir::ensure_locks_dir()); empty: no locking.
  std::filesystem::path lock_dir;
  /// UUIDs an earlier step of the instance created: a device found again stays owned (created).
  std::set<std::string> owned;
  /// Called with every device resolved so far after each change (a create, a reuse, a rollback),
  /// before the next step can fail; an exception from it aborts and rolls back. Empty: no record.
  std::function<void(const std::vector<MdevRecord>&)> record;
  /// How long to wait for /dev/vfio/<group> after a create (udev may lag).
  std::chrono::milliseconds vfio_node_timeout{5000};
  /// Bound for removing devices created by this call when a later step fails.
  RemoveOptions rollback;
  /// Told before and after every lock, create (and, through `rollback.log`, remove): the
  /// instance's intent journal. None: no journal (tests, dry runs).
  ChangeLog* log = nullptr;
  /// How long a created device may take to appear in bus/mdev/devices (udev and some drivers
  /// add it a moment after the `create` write returns).
  std::chrono::milliseconds device_timeout{5000};
};

struct EnsureResult {
  std::vector<ResolvedMdev> mdevs;  ///< one per MdevSpec, in profile order
  std::vector<FileLock> locks;      ///< per-UUID locks: keep them while the VM runs
  std::vector<std::string> notes;   ///< dry run: one line per device, for stderr
};

/// Ensures every spec's mdev (see the file comment). Without `uuid` a spec gets
/// derive_mdev_uuid(profile_name, id); without `parent`, the first parent in sorted order that
/// offers the type with a free instance, moving on to the next when a create fails for lack of
/// instances. In dry_run nothing is written or locked and problems become notes instead of errors;
/// every spec still gets a ResolvedMdev (exists=false when missing).
/// Throws (create mode): Error(mdev) for a missing/mistyped parent or type (with a did-you-mean),
/// no free instance, an existing device of another parent or type, a failed create, a missing IOMMU
/// group or /dev/vfio node; Error(permission) when sysfs may not be written; Error(busy) when
/// another launcher holds a UUID's lock; Error(usage) when two specs share a UUID. Before throwing,
/// devices created by this call are removed again and the recorder told so.
EnsureResult ensure_mdevs(const Host& host, std::string_view profile_name,
                          const std::vector<MdevSpec>& specs, EnsureMode mode,
                          const EnsureOptions& options = {});

}  // namespace mdevrun

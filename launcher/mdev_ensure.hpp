#pragma once
// Making sure the profile's mdevs exist before qemu starts: reuse a device that already has the
// right parent and type, otherwise create it with one write of its UUID to the type's `create`
// file, then confirm the device folder, its IOMMU group and /dev/vfio/<group>. A lock per UUID
// keeps two launchers off one mdev; ownership (created here or not) goes to the state file so only
// created devices are removed later.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "file_lock.hpp"
#include "mdev_remove.hpp"
#include "profile.hpp"
#include "resolved_mdev.hpp"
#include "sysfs_roots.hpp"

namespace mdevrun {

enum class EnsureMode {
  create,   ///< reuse or create every mdev; take the locks; record ownership
  dry_run,  ///< read only: report what `create` would do (or why it would fail) as notes
};

struct EnsureOptions {
  /// Folder for the per-UUID lock files (RuntimeDir::ensure_locks_dir()); empty: no locking.
  std::filesystem::path lock_dir;
  /// State file that records ownership: loaded if present (else a new state named
  /// `instance_name`), its mdev list replaced and saved atomically after every change. Empty: none.
  /// A device the loaded state already records as created by the instance stays owned.
  std::filesystem::path state_file;
  std::string instance_name;  ///< name for a new state file; empty: the profile name
  /// How long to wait for /dev/vfio/<group> after a create (udev may lag).
  std::chrono::milliseconds vfio_node_timeout{5000};
  /// Bound for removing devices created by this call when a later step fails.
  RemoveOptions rollback;
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
/// devices created by this call are removed again and the state file updated accordingly.
EnsureResult ensure_mdevs(const SysfsRoots& roots, std::string_view profile_name,
                          const std::vector<MdevSpec>& specs, EnsureMode mode,
                          const EnsureOptions& options = {});

}  // namespace mdevrun

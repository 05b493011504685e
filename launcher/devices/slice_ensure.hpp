#pragma once
// Making the profile's PCI slices ready for qemu before it starts, with the mdev guarantees:
//   vf          enable VFs on the PF if none are (autoprobe off first, so the host driver does not
//               take them), pick the chosen or the first free VF, give it to vfio-pci
//               (driver_override + drivers_probe);
//   nvidia-vgpu enable the PF's VFs if none are, pick the chosen or the first VF where the type is
//               creatable, write the type id to current_vgpu_type (the VF stays on `nvidia`);
//   pci         take the device from its driver and give it to vfio-pci.
// Every write is announced to the ChangeLog first (the instance's intent journal) and listed in
// the result, so cleanup and crash recovery undo exactly these (devices/pci_undo.hpp). Nothing is
// changed before the checks that can fail without a change (device present, vfio-pci loaded, the
// IOMMU group viable, the lock free); on a later failure everything done so far is undone. Each
// slice's function is locked (locks/pci-<address>.lock) for as long as the result lives; a PF is
// locked only while its VFs are enabled or chosen.
//
// Blocking. Throws Error: mdev (3) for a missing or unsuitable device, a non-viable group, a failed
// write; busy (11) for a locked or in-use device; permission (13) for EACCES/EPERM.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "devices/change_log.hpp"
#include "devices/mdev_ensure.hpp"  // EnsureMode
#include "devices/pci_change.hpp"
#include "devices/resolved_slice.hpp"
#include "os/file_lock.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

struct SliceEnsureOptions {
  std::filesystem::path lock_dir;  ///< RuntimeDir::ensure_locks_dir(); empty: no locking
  ChangeLog* log = nullptr;        ///< the intent journal; none in tests and dry runs
  std::chrono::milliseconds vfio_node_timeout{5000};  ///< for /dev/vfio/<group> (udev lag)
  std::chrono::milliseconds vf_timeout{5000};         ///< for virtfnK links after a numvfs write
  std::chrono::milliseconds lock_timeout{5000};       ///< for a PF another launcher is preparing
};

struct SliceEnsureResult {
  std::vector<ResolvedSlice> slices;     ///< one per SliceSpec, in profile order
  std::vector<FileLock> locks;           ///< per-function locks: keep them while the VM runs
  std::vector<PciChangeRecord> changes;  ///< what this call changed, in order (ids from the log)
  std::vector<std::string> notes;        ///< dry run: one line per slice, for stderr
  /// Dry run: the slices it could not plan, by id, with the error start would fail with (their
  /// entry in `slices` is a placeholder that only keeps the argv's shape). check and export tell
  /// a plan from a placeholder by this, not by the notes' wording.
  std::map<std::string, std::string> unplanned;
};

SliceEnsureResult ensure_slices(const Host& host, const std::vector<SliceSpec>& specs,
                                EnsureMode mode, const SliceEnsureOptions& options = {});

}  // namespace mdevrun

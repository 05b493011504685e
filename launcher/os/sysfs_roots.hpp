#pragma once
// Where mdevrun finds the kernel's sysfs and device nodes. The one place that reads
// MDEVRUN_SYSFS_ROOT and MDEVRUN_DEV_ROOT: everything else takes a SysfsRoots, so tests can point
// the whole mdev layer at a fake tree.

#include <filesystem>

namespace mdevrun {

struct SysfsRoots {
  std::filesystem::path sys = "/sys";  ///< stands for /sys (class/mdev_bus, bus/mdev/devices, ...)
  std::filesystem::path dev = "/dev";  ///< stands for /dev (vfio/N nodes)

  /// /sys and /dev, each replaced by $MDEVRUN_SYSFS_ROOT / $MDEVRUN_DEV_ROOT when set and
  /// non-empty.
  static SysfsRoots from_env();

  /// <dev>/vfio/<group>: the node qemu opens for an mdev in that IOMMU group.
  std::filesystem::path vfio_node(int iommu_group) const;
};

}  // namespace mdevrun

#include "os/sysfs_roots.hpp"

#include <cstdlib>
#include <string>

namespace mdevrun {

SysfsRoots SysfsRoots::from_env() {
  SysfsRoots roots;
  if (const char* sys = std::getenv("MDEVRUN_SYSFS_ROOT"); sys && *sys) roots.sys = sys;
  if (const char* dev = std::getenv("MDEVRUN_DEV_ROOT"); dev && *dev) roots.dev = dev;
  return roots;
}

std::filesystem::path SysfsRoots::vfio_node(int iommu_group) const {
  return dev / "vfio" / std::to_string(iommu_group);
}

}  // namespace mdevrun

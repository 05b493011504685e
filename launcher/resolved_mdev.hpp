#pragma once
// An mdev of the profile after `ensure`: which device it is on this host and whether we made it.

#include <filesystem>
#include <optional>
#include <string>

namespace mdevrun {

struct ResolvedMdev {
  std::string id;      ///< the profile's device id
  std::string uuid;    ///< lower-case
  std::string parent;  ///< as named in sysfs
  std::string type;
  std::filesystem::path sysfs_path;  ///< <sys root>/bus/mdev/devices/<uuid>: qemu's sysfsdev
  std::optional<int> iommu_group;
  bool exists = false;   ///< present in sysfs now
  bool created = false;  ///< created by this run (owned): only these are removed
};

}  // namespace mdevrun

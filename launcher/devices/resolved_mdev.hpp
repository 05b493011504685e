#pragma once
// An mdev of the profile after ensure_mdevs: what the qemu command line and the supervisor consume.

#include <filesystem>
#include <optional>
#include <string>

namespace mdevrun {

struct ResolvedMdev {
  std::string id;      ///< the profile's device id
  std::string uuid;    ///< lower-case
  std::string parent;  ///< as named in sysfs; empty in a dry run when no parent could be chosen
  std::string type;
  std::filesystem::path sysfs_path;  ///< <sys root>/bus/mdev/devices/<uuid>: qemu's sysfsdev
  std::optional<int> iommu_group;    ///< /dev/vfio/<group> is the node qemu opens
  bool exists = false;               ///< present in sysfs now
  bool created = false;  ///< created by this instance (owned): only these are removed at cleanup

  friend bool operator==(const ResolvedMdev&, const ResolvedMdev&) = default;
};

}  // namespace mdevrun

#pragma once
// What the kernel offers and has: mdev parents (class/mdev_bus), their types with free instance
// counts, and existing mdevs. Reads only, always below Host::sys. Entries whose names are not
// UUIDs (where UUIDs are expected) are ignored, as are types that vanish while being read.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "os/host.hpp"

namespace mdevrun {

struct MdevDevice {
  std::string uuid;                  ///< lower-case
  std::string parent;                ///< name of the parent device folder the device lives in
  std::string type;                  ///< name of the type folder its mdev_type link points to
  std::filesystem::path sysfs_path;  ///< <sys>/bus/mdev/devices/<uuid>
  std::optional<int> iommu_group;    ///< none when the iommu_group link is missing
};

struct MdevType {
  std::string parent;
  std::string type;                        ///< folder name, e.g. "i915-GVTg_V4_4"
  std::optional<std::string> name;         ///< the optional `name` attribute, trimmed
  std::optional<std::string> description;  ///< trimmed, inner newlines as ", " (like mdevctl)
  std::string device_api;                  ///< e.g. "vfio-pci"
  long available_instances = 0;            ///< advisory: may be stale a moment later
  std::vector<std::string> devices;        ///< UUIDs of existing devices of this type, sorted
  std::filesystem::path dir;  ///< <sys>/class/mdev_bus/<parent>/mdev_supported_types/<type>
};

struct MdevParent {
  std::string name;             ///< e.g. "0000:00:02.0", "mtty"
  std::filesystem::path dir;    ///< <sys>/class/mdev_bus/<name> (a link to the device folder)
  std::vector<MdevType> types;  ///< sorted by type
};

/// Names in class/mdev_bus, sorted. Empty when the folder is missing (no mdev driver loaded).
std::vector<std::string> list_parent_names(const Host& host);

/// Every parent with its types, both sorted. Throws Error(mdev) naming the file when an attribute
/// exists but cannot be read or parsed.
std::vector<MdevParent> list_parents(const Host& host);

/// One type of one parent; none when the parent or type does not exist. Throws like list_parents.
std::optional<MdevType> read_type(const Host& host, std::string_view parent, std::string_view type);

/// <sys>/bus/mdev/devices/<uuid>: where the mdev `uuid` (lower-case, validated) appears, and
/// qemu's sysfsdev for it.
std::filesystem::path mdev_device_path(const Host& host, std::string_view uuid);

/// <sys>/class/mdev_bus/<parent>.
std::filesystem::path mdev_parent_path(const Host& host, std::string_view parent);

/// The mdev with this UUID (any case), found through bus/mdev/devices/<uuid>: parent from its real
/// path, type from its mdev_type link, IOMMU group from its iommu_group link. None when absent.
std::optional<MdevDevice> find_device(const Host& host, std::string_view uuid);

/// All mdevs in bus/mdev/devices, sorted by UUID.
std::vector<MdevDevice> list_devices(const Host& host);

}  // namespace mdevrun

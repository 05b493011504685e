#pragma once
// What `mdevrun types` prints: a table for people, JSON for scripts.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/mdev_discovery.hpp"
#include "devices/pci_inventory.hpp"
#include "os/host.hpp"

namespace mdevrun {

/// Columns PARENT TYPE NAME AVAILABLE API DEVICES DESCRIPTION, one row per type, in the (sorted)
/// order given; "-" for an absent name or no devices. With no parent at all: one line saying that
/// no mdev-capable device is registered, pointing to `mdevrun check`.
std::string format_types_table(const std::vector<MdevParent>& parents, const Host& host);

/// An array with one object per type: {"parent", "type", "name" (null if absent),
/// "available_instances", "device_api", "description" (null if absent), "devices": [uuid...]}.
nlohmann::json types_json(const std::vector<MdevParent>& parents);

/// The SR-IOV physical functions, one block per PF: a line "PF ADDRESS VENDOR:DEVICE driver D
/// VFs N of TOTAL autoprobe A", then one line per VF with its driver and IOMMU group and, for
/// NVIDIA vGPU VFs, the current type and the creatable ones. Empty when there are none.
std::string format_pci_table(const std::vector<PfReport>& pfs);

/// One object per PF: {"kind": "sriov-pf", "address", "vendor_device", "driver" (null if none),
/// "totalvfs", "numvfs", "autoprobe" (null if absent), "vfs": [{"address", "index", "driver",
/// "iommu_group", "vgpu_type"?, "creatable_vgpu_types"?: [{"id", "name"}]}]}.
nlohmann::json pci_json(const std::vector<PfReport>& pfs);

}  // namespace mdevrun

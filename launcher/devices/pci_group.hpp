#pragma once
// The IOMMU-group rule every slice obeys, in one place for ensure (which refuses before any
// change) and check (which reports): vfio opens a whole group, so every other function in a
// slice's group must be a bridge or one of the profile's own whole-device ("pci") slices.
// Reads sysfs through PciSysfs; changes nothing.

#include <set>
#include <string>
#include <vector>

#include "devices/pci_sysfs.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// The members of IOMMU group `group` that keep `address` from being given to a VM: every one
/// that is not `address`, not in `allowed`, and not a PCI bridge, in address order. Empty: the
/// group is viable. A member that vanished while being read is no blocker.
std::vector<PciFunction> group_blockers(const PciSysfs& pci, int group, const std::string& address,
                                        const std::set<std::string>& allowed);

/// The addresses of the profile's whole-device ("pci") slices: the `allowed` set of a profile.
std::set<std::string> whole_device_addresses(const std::vector<SliceSpec>& slices);

/// "0000:01:00.1 (10de:228b, driver snd_hda_intel)", or "... no driver)".
std::string describe_function(const PciFunction& f);

}  // namespace mdevrun

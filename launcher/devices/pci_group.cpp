#include "devices/pci_group.hpp"

namespace mdevrun {

std::vector<PciFunction> group_blockers(const PciSysfs& pci, int group, const std::string& address,
                                        const std::set<std::string>& allowed) {
  std::vector<PciFunction> out;
  for (const auto& m : pci.group_members(group)) {
    if (m == address || allowed.count(m)) continue;
    const auto o = pci.read(m);
    if (!o || o->is_bridge()) continue;
    out.push_back(*o);
  }
  return out;
}

std::set<std::string> whole_device_addresses(const std::vector<SliceSpec>& slices) {
  std::set<std::string> out;
  for (const auto& s : slices)
    if (s.mechanism == SliceMechanism::pci) out.insert(s.address);
  return out;
}

std::string describe_function(const PciFunction& f) {
  return f.address + " (" + to_string(f.id) + ", " +
         (f.driver ? "driver " + *f.driver : std::string("no driver")) + ")";
}

}  // namespace mdevrun

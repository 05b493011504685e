#include "devices/pci_inventory.hpp"

namespace mdevrun {

std::vector<PfReport> list_sriov_pfs(const Host& host) {
  const PciSysfs pci(host);
  std::vector<PfReport> out;
  for (const auto& a : pci.addresses()) {
    auto f = pci.read(a);
    if (!f || !f->sriov || f->sriov->totalvfs <= 0) continue;
    PfReport r{*f, {}};
    for (const auto& vf : f->sriov->vfs) {
      auto v = pci.read(vf);
      if (!v) continue;
      VfReport vr{*v, std::nullopt, {}};
      if (v->nvidia_vgpu) {
        vr.vgpu_type = pci.current_vgpu_type(vf);
        vr.creatable = pci.creatable_vgpu_types(vf);
      }
      r.vfs.push_back(std::move(vr));
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool pf_matches(const PciFunction& f, const PfSelector& pf, bool nvidia) {
  if (pf.address && f.address != *pf.address) return false;
  if (pf.vendor_device && to_string(f.id) != *pf.vendor_device) return false;
  if (pf.driver && f.driver != *pf.driver) return false;
  return pf.any() || !nvidia || f.id.vendor == 0x10de;
}

}  // namespace mdevrun

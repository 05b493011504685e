#pragma once
// The SR-IOV side of `mdevrun types`: every physical function with its VFs, their drivers and,
// on NVIDIA vGPU VFs, the current and the creatable vGPU types; and the rule by which a slice's PF
// selector picks a PF (pf_matches: the one ensure_slices and `mdevrun check` use). Reads only
// (devices/pci_sysfs).

#include <optional>
#include <vector>

#include "devices/pci_sysfs.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

struct VfReport {
  PciFunction vf;
  std::optional<int> vgpu_type;           ///< NVIDIA VFs: current_vgpu_type (0: none)
  std::vector<NvidiaVgpuType> creatable;  ///< NVIDIA VFs: creatable_vgpu_types
};

struct PfReport {
  PciFunction pf;  ///< pf.sriov is set
  std::vector<VfReport> vfs;
};

/// Every function with sriov_totalvfs > 0, by address.
std::vector<PfReport> list_sriov_pfs(const Host& host);

/// Whether SR-IOV PF `f` is one a slice with selector `pf` may use: every field the selector sets
/// matches; an empty selector matches any PF, or for nvidia-vgpu (`nvidia`) only NVIDIA's (10de).
bool pf_matches(const PciFunction& f, const PfSelector& pf, bool nvidia);

}  // namespace mdevrun

#pragma once
// A PCI slice of the profile after ensure_slices: the function qemu gets (vfio-pci,host=) and what
// status shows about it. Plain data.

#include <optional>
#include <string>

#include "profile/profile.hpp"

namespace mdevrun {

struct ResolvedSlice {
  std::string id{};  ///< the profile's slice id
  SliceMechanism mechanism = SliceMechanism::vf;
  std::string address{};                ///< the function given to qemu
  std::optional<std::string> pf{};      ///< vf, nvidia-vgpu: its physical function
  std::optional<int> vf_index{};        ///< vf, nvidia-vgpu: virtfn index on the PF
  std::optional<std::string> driver{};  ///< bound driver once prepared (vfio-pci, nvidia)
  std::optional<int> iommu_group{};
  std::optional<int> vgpu_type{};  ///< nvidia-vgpu: the type id set on the VF
  std::optional<std::string> vgpu_name{};
  bool exists = false;  ///< the function is in sysfs now (a dry run may plan one not yet there)

  friend bool operator==(const ResolvedSlice&, const ResolvedSlice&) = default;
};

}  // namespace mdevrun

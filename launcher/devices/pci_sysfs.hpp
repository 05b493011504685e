#pragma once
// The PCI side of sysfs: the only code that builds bus/pci paths. Reads a function's identity,
// driver, driver_override, IOMMU group, SR-IOV state and NVIDIA's vGPU-17 VF interface
// (<VF>/nvidia/{creatable_vgpu_types,current_vgpu_type}), and makes the single writes the backends
// need, each returning the errno the kernel answered (0: done). Addresses must be normalized
// (base/pci_address.hpp) before they get here: a malformed one throws std::invalid_argument.
//
// Stateless apart from the Host it copies; every call reads sysfs afresh. Thread-compatible.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/pci_address.hpp"
#include "os/host.hpp"

namespace mdevrun {

struct SriovState {
  int totalvfs = 0;
  int numvfs = 0;
  std::optional<bool> drivers_autoprobe{};  ///< none when the attribute is missing
  std::vector<std::string> vfs{};           ///< virtfn0..N-1 addresses, in index order
  int offset = 0;                           ///< sriov_offset: VF 0's routing id minus the PF's
  int stride = 1;                           ///< sriov_stride
};

/// The address VF `k` of `pf` gets (the kernel's pci_iov_virtfn_bus/devfn): routing id = the PF's
/// bus << 8 | devfn, plus offset + k * stride. None when it would leave the bus range.
std::optional<std::string> vf_address(const std::string& pf, int offset, int stride, int k);

struct NvidiaVgpuType {
  int id = 0;
  std::string name{};  ///< "NVIDIA L40S-2Q"
  friend bool operator==(const NvidiaVgpuType&, const NvidiaVgpuType&) = default;
};

struct PciFunction {
  std::string address{};
  PciId id{};
  std::uint32_t class_code = 0;                  ///< 0x030000 for a VGA controller
  std::optional<std::string> driver{};           ///< the bound driver's name
  std::optional<std::string> driver_override{};  ///< none when "(null)"
  std::optional<int> iommu_group{};
  std::optional<std::string> physfn{};  ///< a VF: its PF's address
  std::optional<SriovState> sriov{};    ///< a PF (sriov_totalvfs present)
  bool nvidia_vgpu = false;             ///< has nvidia/current_vgpu_type (a vGPU-capable VF)

  bool is_bridge() const { return (class_code >> 8) == 0x0604 || (class_code >> 8) == 0x0609; }
};

/// NVIDIA's creatable_vgpu_types text: a header "ID    : vGPU Name", then "%-5d : %s" lines.
/// Lines that do not parse are skipped.
std::vector<NvidiaVgpuType> parse_creatable_vgpu_types(const std::string& text);

class PciSysfs {
 public:
  explicit PciSysfs(Host host) : host_(std::move(host)) {}

  std::filesystem::path device_dir(const std::string& address) const;  ///< bus/pci/devices/<a>
  bool exists(const std::string& address) const;
  /// None when the device does not exist (or vanished while being read).
  std::optional<PciFunction> read(const std::string& address) const;
  /// Every function under bus/pci/devices, sorted by address.
  std::vector<std::string> addresses() const;
  /// Members of IOMMU group `group` (kernel/iommu_groups/<g>/devices), sorted.
  std::vector<std::string> group_members(int group) const;
  bool driver_loaded(const std::string& driver) const;  ///< bus/pci/drivers/<driver> exists
  std::optional<std::string> driver_of(const std::string& address) const;
  std::optional<int> numvfs(const std::string& pf) const;

  std::vector<NvidiaVgpuType> creatable_vgpu_types(const std::string& vf) const;
  std::optional<int> current_vgpu_type(const std::string& vf) const;

  int write_numvfs(const std::string& pf, int n) const;
  int write_autoprobe(const std::string& pf, bool on) const;
  /// Empty `driver` clears the override.
  int write_driver_override(const std::string& address, const std::string& driver) const;
  int unbind(const std::string& address, const std::string& driver) const;
  int bind(const std::string& address, const std::string& driver) const;
  int probe(const std::string& address) const;  ///< bus/pci/drivers_probe
  int write_vgpu_type(const std::string& vf, int type_id) const;

  /// The sysfs file each write above goes to, for messages.
  std::filesystem::path numvfs_file(const std::string& pf) const;
  std::filesystem::path autoprobe_file(const std::string& pf) const;
  std::filesystem::path override_file(const std::string& address) const;
  std::filesystem::path driver_file(const std::string& driver, const char* op) const;
  std::filesystem::path probe_file() const;
  std::filesystem::path vgpu_type_file(const std::string& vf) const;

  const Host& host() const { return host_; }

 private:
  Host host_;
};

}  // namespace mdevrun

#pragma once
// A plain folder tree shaped like the PCI part of sysfs, for tests that read it (types, check,
// export) without FUSE: devices/pci0000:00/<address>/ with vendor, device, class, driver,
// iommu_group, physfn/virtfnK, sriov_* and nvidia/ attributes, linked from bus/pci/devices,
// bus/pci/drivers/<driver>/<address> and kernel/iommu_groups/<N>/devices. Only reads make sense
// on it: writing an attribute changes the file and nothing else. Header-only; throws
// std::filesystem::filesystem_error when the tree cannot be written.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mdevrun::testing {

struct PciTreeFunction {
  std::string address;
  std::string vendor = "0x8086";
  std::string device = "0x1234";
  std::string class_code = "0x020000";  ///< an Ethernet controller
  std::optional<std::string> driver{};
  std::optional<int> iommu_group{};
};

class PciTree {
 public:
  explicit PciTree(std::filesystem::path sys) : sys_(std::move(sys)) {
    std::filesystem::create_directories(sys_ / "bus/pci/devices");
    std::filesystem::create_directories(sys_ / "bus/pci/drivers");
    std::filesystem::create_directories(sys_ / "kernel/iommu_groups");
  }

  const std::filesystem::path& sys() const { return sys_; }
  std::filesystem::path dir(const std::string& address) const {
    return sys_ / "devices/pci0000:00" / address;
  }

  /// A function; its driver's folder and its group's folder are made as needed.
  void add(const PciTreeFunction& f) {
    namespace fs = std::filesystem;
    const fs::path d = dir(f.address);
    fs::create_directories(d);
    write(d / "vendor", f.vendor + "\n");
    write(d / "device", f.device + "\n");
    write(d / "class", f.class_code + "\n");
    write(d / "driver_override", "(null)\n");
    fs::create_directory_symlink("../../../devices/pci0000:00/" + f.address,
                                 sys_ / "bus/pci/devices" / f.address);
    if (f.driver) bind(f.address, *f.driver);
    if (f.iommu_group) {
      const fs::path g = sys_ / "kernel/iommu_groups" / std::to_string(*f.iommu_group);
      fs::create_directories(g / "devices");
      fs::create_directory_symlink("../../../kernel/iommu_groups/" + std::to_string(*f.iommu_group),
                                   d / "iommu_group");
      fs::create_directory_symlink("../../../../devices/pci0000:00/" + f.address,
                                   g / "devices" / f.address);
    }
  }

  void driver(const std::string& name) {
    std::filesystem::create_directories(sys_ / "bus/pci/drivers" / name);
  }

  void bind(const std::string& address, const std::string& name) {
    namespace fs = std::filesystem;
    driver(name);
    const fs::path link = dir(address) / "driver";
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_directory_symlink("../../../bus/pci/drivers/" + name, link);
  }

  /// Makes `pf` an SR-IOV physical function (sriov_totalvfs etc.) with `vfs` enabled, VF k at
  /// `vf_addresses[k]`, each VF its own function (same vendor, device+1, the given driver,
  /// group first_group + k when first_group is set).
  void sriov(const std::string& pf, int totalvfs, const std::vector<std::string>& vf_addresses,
             std::optional<bool> autoprobe = true, int offset = 1, int stride = 1,
             std::optional<std::string> vf_driver = std::nullopt,
             std::optional<int> first_group = std::nullopt) {
    namespace fs = std::filesystem;
    const fs::path d = dir(pf);
    write(d / "sriov_totalvfs", std::to_string(totalvfs) + "\n");
    write(d / "sriov_numvfs", std::to_string(vf_addresses.size()) + "\n");
    write(d / "sriov_offset", std::to_string(offset) + "\n");
    write(d / "sriov_stride", std::to_string(stride) + "\n");
    if (autoprobe) write(d / "sriov_drivers_autoprobe", *autoprobe ? "1\n" : "0\n");
    std::string vendor = "0x8086", device = "0x1234";
    std::ifstream(d / "vendor") >> vendor;
    std::ifstream(d / "device") >> device;
    for (std::size_t k = 0; k < vf_addresses.size(); ++k) {
      PciTreeFunction vf{.address = vf_addresses[k], .vendor = vendor, .device = device};
      vf.driver = vf_driver;
      if (first_group) vf.iommu_group = *first_group + static_cast<int>(k);
      std::ifstream(d / "class") >> vf.class_code;
      add(vf);
      fs::create_directory_symlink("../" + vf_addresses[k], d / ("virtfn" + std::to_string(k)));
      fs::create_directory_symlink("../" + pf, dir(vf_addresses[k]) / "physfn");
    }
  }

  /// NVIDIA's vGPU-17 interface on a VF: current_vgpu_type and creatable_vgpu_types ("ID : name").
  void nvidia(const std::string& vf, int current,
              const std::vector<std::pair<int, std::string>>& creatable) {
    const std::filesystem::path n = dir(vf) / "nvidia";
    std::filesystem::create_directories(n);
    write(n / "current_vgpu_type", std::to_string(current) + "\n");
    std::string text = "ID    : vGPU Name\n";
    for (const auto& [id, name] : creatable) {
      char line[160];
      std::snprintf(line, sizeof line, "%-5d : %s\n", id, name.c_str());
      text += line;
    }
    write(n / "creatable_vgpu_types", text);
  }

  static void write(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

 private:
  std::filesystem::path sys_;
};

}  // namespace mdevrun::testing

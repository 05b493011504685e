#include "devices/pci_sysfs.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "base/text.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;

namespace {

const std::string& checked(const std::string& address) {
  // Every path below is built from an address: refuse anything that is not one.
  if (normalize_pci_address(address) != address)
    throw std::invalid_argument("not a normalized PCI address: " + address);
  return address;
}

bool safe_name(const std::string& s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::optional<std::string> link_name(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec) return std::nullopt;
  return target.filename().string();
}

std::optional<int> to_int(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const std::string t = trim(*text);
  if (t.empty() || t.size() > 9 || !std::all_of(t.begin(), t.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return std::nullopt;
  return std::stoi(t);
}

}  // namespace

std::vector<NvidiaVgpuType> parse_creatable_vgpu_types(const std::string& text) {
  std::vector<NvidiaVgpuType> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string id = trim(line.substr(0, colon));
    const std::string name = trim(line.substr(colon + 1));
    if (id.empty() || id.size() > 9 || name.empty() ||
        !std::all_of(id.begin(), id.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      continue;  // the "ID    : vGPU Name" header, blank lines
    out.push_back({std::stoi(id), name});
  }
  return out;
}

std::optional<std::string> vf_address(const std::string& pf, int offset, int stride, int k) {
  if (normalize_pci_address(pf) != pf || k < 0) return std::nullopt;
  const unsigned bus = std::stoul(pf.substr(5, 2), nullptr, 16);
  const unsigned dev = std::stoul(pf.substr(8, 2), nullptr, 16);
  const unsigned fn = static_cast<unsigned>(pf[11] - '0');
  const long routing =
      static_cast<long>((bus << 8) | (dev << 3) | fn) + offset + static_cast<long>(k) * stride;
  if (routing < 0 || routing > 0xffff) return std::nullopt;
  char buf[48];  // GCC sizes the worst case of the format, not the checked range
  std::snprintf(buf, sizeof buf, "%s:%02lx:%02lx.%lx", pf.substr(0, 4).c_str(), routing >> 8,
                (routing >> 3) & 0x1f, routing & 7);
  return std::string(buf);
}

fs::path PciSysfs::device_dir(const std::string& address) const {
  return host_.sys / "bus/pci/devices" / checked(address);
}

bool PciSysfs::exists(const std::string& address) const {
  std::error_code ec;
  return fs::is_directory(device_dir(address), ec);
}

std::optional<PciFunction> PciSysfs::read(const std::string& address) const {
  const fs::path dir = device_dir(address);
  if (!exists(address)) return std::nullopt;
  PciFunction f;
  f.address = address;
  const auto vendor = read_sysfs(dir / "vendor");
  const auto device = read_sysfs(dir / "device");
  if (!vendor || !device) return std::nullopt;  // vanished
  f.id.vendor = static_cast<std::uint16_t>(parse_sysfs_hex(*vendor).value_or(0));
  f.id.device = static_cast<std::uint16_t>(parse_sysfs_hex(*device).value_or(0));
  if (auto c = read_sysfs(dir / "class")) f.class_code = parse_sysfs_hex(*c).value_or(0);
  f.driver = link_name(dir / "driver");
  if (auto o = read_sysfs(dir / "driver_override")) {
    const std::string v = trim(*o);
    if (!v.empty() && v != "(null)") f.driver_override = v;
  }
  if (auto g = link_name(dir / "iommu_group")) f.iommu_group = to_int(*g);
  if (auto pf = link_name(dir / "physfn"); pf && normalize_pci_address(*pf) == *pf) f.physfn = *pf;
  if (auto total = to_int(read_sysfs(dir / "sriov_totalvfs"))) {
    SriovState s;
    s.totalvfs = *total;
    s.numvfs = to_int(read_sysfs(dir / "sriov_numvfs")).value_or(0);
    if (auto a = to_int(read_sysfs(dir / "sriov_drivers_autoprobe"))) s.drivers_autoprobe = *a != 0;
    s.offset = to_int(read_sysfs(dir / "sriov_offset")).value_or(0);
    s.stride = to_int(read_sysfs(dir / "sriov_stride")).value_or(1);
    for (int k = 0;; ++k) {
      auto vf = link_name(dir / ("virtfn" + std::to_string(k)));
      if (!vf || normalize_pci_address(*vf) != *vf) break;
      s.vfs.push_back(*vf);
    }
    f.sriov = std::move(s);
  }
  std::error_code ec;
  f.nvidia_vgpu = fs::exists(dir / "nvidia/current_vgpu_type", ec);
  return f;
}

std::vector<std::string> PciSysfs::addresses() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(host_.sys / "bus/pci/devices", ec)) {
    const std::string n = e.path().filename().string();
    if (normalize_pci_address(n) == n) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PciSysfs::group_members(int group) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(
           host_.sys / "kernel/iommu_groups" / std::to_string(group) / "devices", ec)) {
    const std::string n = e.path().filename().string();
    if (normalize_pci_address(n) == n) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool PciSysfs::driver_loaded(const std::string& driver) const {
  std::error_code ec;
  return safe_name(driver) && fs::is_directory(host_.sys / "bus/pci/drivers" / driver, ec);
}

std::optional<std::string> PciSysfs::driver_of(const std::string& address) const {
  return link_name(device_dir(address) / "driver");
}

std::optional<int> PciSysfs::numvfs(const std::string& pf) const {
  return to_int(read_sysfs(numvfs_file(pf)));
}

std::vector<NvidiaVgpuType> PciSysfs::creatable_vgpu_types(const std::string& vf) const {
  auto text = read_sysfs(device_dir(vf) / "nvidia/creatable_vgpu_types");
  return text ? parse_creatable_vgpu_types(*text) : std::vector<NvidiaVgpuType>{};
}

std::optional<int> PciSysfs::current_vgpu_type(const std::string& vf) const {
  return to_int(read_sysfs(vgpu_type_file(vf)));
}

fs::path PciSysfs::numvfs_file(const std::string& pf) const {
  return device_dir(pf) / "sriov_numvfs";
}
fs::path PciSysfs::autoprobe_file(const std::string& pf) const {
  return device_dir(pf) / "sriov_drivers_autoprobe";
}
fs::path PciSysfs::override_file(const std::string& address) const {
  return device_dir(address) / "driver_override";
}
fs::path PciSysfs::driver_file(const std::string& driver, const char* op) const {
  if (!safe_name(driver)) throw std::invalid_argument("not a driver name: " + driver);
  return host_.sys / "bus/pci/drivers" / driver / op;
}
fs::path PciSysfs::probe_file() const {
  return host_.sys / "bus/pci/drivers_probe";
}
fs::path PciSysfs::vgpu_type_file(const std::string& vf) const {
  return device_dir(vf) / "nvidia/current_vgpu_type";
}

int PciSysfs::write_numvfs(const std::string& pf, int n) const {
  return write_sysfs(numvfs_file(pf), std::to_string(n));
}
int PciSysfs::write_autoprobe(const std::string& pf, bool on) const {
  return write_sysfs(autoprobe_file(pf), on ? "1" : "0");
}
int PciSysfs::write_driver_override(const std::string& address, const std::string& driver) const {
  // The kernel clears the override on an empty write or a lone newline.
  return write_sysfs(override_file(address), driver.empty() ? "\n" : driver);
}
int PciSysfs::unbind(const std::string& address, const std::string& driver) const {
  return write_sysfs(driver_file(driver, "unbind"), checked(address));
}
int PciSysfs::bind(const std::string& address, const std::string& driver) const {
  return write_sysfs(driver_file(driver, "bind"), checked(address));
}
int PciSysfs::probe(const std::string& address) const {
  return write_sysfs(probe_file(), checked(address));
}
int PciSysfs::write_vgpu_type(const std::string& vf, int type_id) const {
  return write_sysfs(vgpu_type_file(vf), std::to_string(type_id));
}

}  // namespace mdevrun

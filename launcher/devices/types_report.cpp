#include "devices/types_report.hpp"

#include <algorithm>
#include <array>

namespace mdevrun {

std::string format_types_table(const std::vector<MdevParent>& parents, const Host& host) {
  if (parents.empty())
    return "no mdev-capable device is registered (" + (host.sys / "class" / "mdev_bus").string() +
           " is empty or missing): load a mediated-device driver; run `mdevrun check` for "
           "details\n";
  using Row = std::array<std::string, 7>;
  std::vector<Row> rows = {
      {"PARENT", "TYPE", "NAME", "AVAILABLE", "API", "DEVICES", "DESCRIPTION"}};
  for (const auto& parent : parents) {
    if (parent.types.empty()) rows.push_back({parent.name, "-", "-", "0", "-", "-", "(no types)"});
    for (const auto& t : parent.types) {
      std::string devices;
      for (const auto& uuid : t.devices) devices += (devices.empty() ? "" : ",") + uuid;
      rows.push_back({t.parent, t.type, t.name.value_or("-"), std::to_string(t.available_instances),
                      t.device_api, devices.empty() ? "-" : devices, t.description.value_or("")});
    }
  }
  std::array<std::size_t, 7> width{};
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

nlohmann::json types_json(const std::vector<MdevParent>& parents) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& parent : parents)
    for (const auto& t : parent.types) {
      nlohmann::json j = {{"parent", t.parent},
                          {"type", t.type},
                          {"name", nullptr},
                          {"available_instances", t.available_instances},
                          {"device_api", t.device_api},
                          {"description", nullptr},
                          {"devices", t.devices}};
      if (t.name) j["name"] = *t.name;
      if (t.description) j["description"] = *t.description;
      out.push_back(std::move(j));
    }
  return out;
}

std::string format_pci_table(const std::vector<PfReport>& pfs) {
  std::string out;
  for (const auto& p : pfs) {
    const SriovState& s = *p.pf.sriov;
    out += "PF " + p.pf.address + "  " + to_string(p.pf.id) + "  driver " +
           p.pf.driver.value_or("none") + "  VFs " + std::to_string(s.numvfs) + " of " +
           std::to_string(s.totalvfs) + "  autoprobe " +
           (s.drivers_autoprobe ? (*s.drivers_autoprobe ? "1" : "0") : "-") + "\n";
    for (std::size_t k = 0; k < p.vfs.size(); ++k) {
      const VfReport& v = p.vfs[k];
      out += "  VF " + std::to_string(k) + "  " + v.vf.address + "  driver " +
             v.vf.driver.value_or("none") + "  group " +
             (v.vf.iommu_group ? std::to_string(*v.vf.iommu_group) : std::string("none"));
      if (v.vgpu_type) {
        out += "  vGPU " + (*v.vgpu_type ? std::to_string(*v.vgpu_type) : std::string("none"));
        std::string types;
        for (const auto& t : v.creatable)
          types += (types.empty() ? "" : ", ") + std::to_string(t.id) + " " + t.name;
        out += "  creatable: " + (types.empty() ? std::string("none") : types);
      }
      out += "\n";
    }
    if (s.numvfs == 0)
      out += "  no VFs enabled: a \"vf\" or \"nvidia-vgpu\" slice enables them at start\n";
  }
  return out;
}

nlohmann::json pci_json(const std::vector<PfReport>& pfs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : pfs) {
    const SriovState& s = *p.pf.sriov;
    nlohmann::json pf = {
        {"kind", "sriov-pf"},
        {"address", p.pf.address},
        {"vendor_device", to_string(p.pf.id)},
        {"driver", p.pf.driver ? nlohmann::json(*p.pf.driver) : nullptr},
        {"totalvfs", s.totalvfs},
        {"numvfs", s.numvfs},
        {"autoprobe", s.drivers_autoprobe ? nlohmann::json(*s.drivers_autoprobe ? 1 : 0) : nullptr},
        {"vfs", nlohmann::json::array()}};
    for (std::size_t k = 0; k < p.vfs.size(); ++k) {
      const VfReport& v = p.vfs[k];
      nlohmann::json e = {
          {"address", v.vf.address},
          {"index", k},
          {"driver", v.vf.driver ? nlohmann::json(*v.vf.driver) : nullptr},
          {"iommu_group", v.vf.iommu_group ? nlohmann::json(*v.vf.iommu_group) : nullptr}};
      if (v.vgpu_type) {
        e["vgpu_type"] = *v.vgpu_type;
        e["creatable_vgpu_types"] = nlohmann::json::array();
        for (const auto& t : v.creatable)
          e["creatable_vgpu_types"].push_back({{"id", t.id}, {"name", t.name}});
      }
      pf["vfs"].push_back(std::move(e));
    }
    out.push_back(std::move(pf));
  }
  return out;
}

}  // namespace mdevrun

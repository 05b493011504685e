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

}  // namespace mdevrun

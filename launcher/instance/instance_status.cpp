#include "instance/instance_status.hpp"

#include <algorithm>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/pci_sysfs.hpp"
#include "profile/profile_choices.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {

nlohmann::json instance_status(InstanceMonitor& m) {
  const std::string& name = m.state.name;
  nlohmann::json out;
  const auto status = m.qmp->query_status();
  out["status"] = status.ok() ? status.value.status : "unknown";
  const std::vector<std::string> attached = attached_device_ids(*m.qmp);
  auto is_attached = [&](const std::string& id) {
    return std::binary_search(attached.begin(), attached.end(), id);
  };
  out["name"] = name;
  out["qemu_pid"] = m.state.qemu_pid.value_or(0);
  out["supervisor_pid"] = m.state.supervisor_pid.value_or(0);
  out["uptime_seconds"] = static_cast<std::int64_t>(std::time(nullptr)) - m.state.started_at;
  out["profile"] = m.state.profile.string();
  out["qmp_socket"] = m.runtime.qmp_cli_socket(name).string();
  out["mdevs"] = nlohmann::json::array();
  for (const auto& md : m.state.mdevs) {
    out["mdevs"].push_back({{"id", md.id},
                            {"uuid", md.uuid},
                            {"parent", md.parent},
                            {"type", md.type},
                            {"created_by_mdevrun", md.created},
                            {"present", find_device(m.host, md.uuid).has_value()},
                            {"attached", is_attached(md.id)}});
  }
  out["slices"] = nlohmann::json::array();
  const PciSysfs pci(m.host);
  for (const auto& sl : m.state.slices) {
    nlohmann::json e = {{"id", sl.id},
                        {"mechanism", to_string(sl.mechanism)},
                        {"address", sl.address},
                        {"present", pci.exists(sl.address)},
                        {"attached", is_attached(sl.id)}};
    // What the kernel says now, not what start saw: someone may have rebound it.
    const auto driver = e["present"] ? pci.driver_of(sl.address) : std::nullopt;
    e["driver"] = driver ? nlohmann::json(*driver) : nlohmann::json(nullptr);
    e["iommu_group"] = sl.iommu_group ? nlohmann::json(*sl.iommu_group) : nlohmann::json(nullptr);
    if (sl.pf) e["pf"] = *sl.pf;
    if (sl.vf_index) e["vf"] = *sl.vf_index;
    if (sl.vgpu_type) e["vgpu_type"] = *sl.vgpu_type;
    if (sl.vgpu_name) e["vgpu_name"] = *sl.vgpu_name;
    out["slices"].push_back(std::move(e));
  }
  out["devices"] = nlohmann::json::array();
  try {
    const Profile p = load_profile(m.state.profile);
    out["display"] = to_string(p.display.backend) + (p.display.gl ? " (gl)" : "");
    // The address qemu chose (a VNC display is the first free one): where a viewer connects.
    if (p.display.backend == DisplayBackend::vnc) {
      const auto vnc = m.qmp->execute("query-vnc");
      if (vnc.ok() && vnc.value.value("enabled", false) && vnc.value.contains("service") &&
          vnc.value["service"].is_string())
        out["display_address"] =
            vnc.value.value("host", "") + ":" + vnc.value["service"].get<std::string>();
    }
    for (const auto& d : p.devices)
      out["devices"].push_back(
          {{"id", d.id}, {"driver", d.driver}, {"attached", is_attached(d.id)}});
  } catch (const Error&) {
    out["display"] = "unknown (profile no longer readable)";
  }
  return out;
}

}  // namespace mdevrun

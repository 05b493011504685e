#include "instance/instance_status.hpp"

#include <algorithm>
#include <ctime>

#include "devices/mdev_discovery.hpp"
#include "devices/pci_sysfs.hpp"
#include "instance/display_access.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun {

nlohmann::json describe_instance(const Host& host, const InstanceState& state,
                                 const std::string& qmp_socket,
                                 const std::optional<Profile>& profile, const QemuFacts& facts) {
  const auto is_attached = [&](const std::string& id) {
    return std::binary_search(facts.attached.begin(), facts.attached.end(), id);
  };
  nlohmann::json out;
  out["status"] = facts.run_status;
  out["name"] = state.name;
  out["qemu_pid"] = state.qemu_pid.value_or(0);
  out["supervisor_pid"] = state.supervisor_pid.value_or(0);
  out["uptime_seconds"] = static_cast<std::int64_t>(std::time(nullptr)) - state.started_at;
  out["profile"] = state.profile.string();
  out["qmp_socket"] = qmp_socket;
  out["mdevs"] = nlohmann::json::array();
  for (const auto& md : state.mdevs) {
    out["mdevs"].push_back({{"id", md.id},
                            {"uuid", md.uuid},
                            {"parent", md.parent},
                            {"type", md.type},
                            {"created_by_mdevrun", md.created},
                            {"present", find_device(host, md.uuid).has_value()},
                            {"attached", is_attached(md.id)}});
  }
  out["slices"] = nlohmann::json::array();
  const PciSysfs pci(host);
  for (const auto& sl : state.slices) {
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
  if (!profile) {
    out["display"] = "unknown (profile no longer readable)";
    return out;
  }
  out["display"] = to_string(profile->display.backend) + (profile->display.gl ? " (gl)" : "");
  if (facts.display_address) out["display_address"] = *facts.display_address;
  out["display_access"] =
      to_json(display_access(profile->display, facts.spice_socket, facts.display_address));
  for (const auto& d : profile->devices)
    out["devices"].push_back({{"id", d.id}, {"driver", d.driver}, {"attached", is_attached(d.id)}});
  return out;
}

}  // namespace mdevrun

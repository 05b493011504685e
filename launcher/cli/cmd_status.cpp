// `mdevrun status NAME|PROFILE [--json]`: run state, pid, uptime, mdevs, slices, devices, sockets.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/pci_sysfs.hpp"
#include "instance/instance_monitor.hpp"
#include "instance/qmp_exit_code.hpp"
#include "profile/profile_choices.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;

struct StatusOptions {
  std::string target;
  bool json = false;
};

std::string uptime_text(std::int64_t seconds) {
  const auto h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  return (h ? std::to_string(h) + "h " : "") + (h || m ? std::to_string(m) + "m " : "") +
         std::to_string(s) + "s";
}

int run_status(const Host& host, const StatusOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const std::string& name = m.state.name;
  nlohmann::json out;
  translating_qmp_errors([&] {
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
    return 0;
  });

  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << name << ": " << out["status"].get<std::string>() << " (qemu pid " << out["qemu_pid"]
            << ", up " << uptime_text(out["uptime_seconds"]) << ")\n"
            << "  display     " << out["display"].get<std::string>()
            << (out.contains("display_address")
                    ? "  " + out["display_address"].get<std::string>() + " (vncviewer " +
                          out["display_address"].get<std::string>() + ")"
                    : std::string())
            << "\n"
            << "  qmp socket  " << out["qmp_socket"].get<std::string>() << "\n";
  for (const auto& md : out["mdevs"])
    std::cout << "  mdev " << md["id"].get<std::string>() << "  " << md["uuid"].get<std::string>()
              << "  " << md["type"].get<std::string>() << " on " << md["parent"].get<std::string>()
              << "  sysfs: " << (md["present"] ? "present" : "missing")
              << "  attached: " << (md["attached"] ? "yes" : "no")
              << (md["created_by_mdevrun"] ? "  (created by mdevrun)" : "") << "\n";
  for (const auto& sl : out["slices"]) {
    std::cout << "  slice " << sl["id"].get<std::string>() << ": "
              << sl["mechanism"].get<std::string>() << " " << sl["address"].get<std::string>();
    if (sl.contains("pf"))
      std::cout << " (VF " << sl.value("vf", 0) << " of " << sl["pf"].get<std::string>() << ")";
    if (sl.contains("vgpu_type"))
      std::cout << "  vGPU " << sl["vgpu_type"].get<int>() << " "
                << sl.value("vgpu_name", std::string());
    std::cout << "  driver "
              << (sl["driver"].is_string() ? sl["driver"].get<std::string>() : "none") << "  group "
              << (sl["iommu_group"].is_number() ? std::to_string(sl["iommu_group"].get<int>())
                                                : std::string("none"))
              << "  sysfs: " << (sl["present"] ? "present" : "missing")
              << "  attached: " << (sl["attached"] ? "yes" : "no") << "\n";
  }
  for (const auto& d : out["devices"])
    std::cout << "  device " << d["id"].get<std::string>() << "  " << d["driver"].get<std::string>()
              << "  attached: " << (d["attached"] ? "yes" : "no") << "\n";
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Action& action) {
  auto o = std::make_shared<StatusOptions>();
  auto* sub = app.add_subcommand("status", "Show an instance: state, pid, mdevs, devices");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_flag("--json", o->json, "JSON for scripts");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_status(host, *o); }; });
}

}  // namespace mdevrun::cli

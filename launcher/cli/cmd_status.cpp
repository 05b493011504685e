// `mdevrun status NAME|PROFILE [--json]`: run state, pid, uptime, mdevs, slices, devices, helpers,
// sockets.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "instance/instance_monitor.hpp"

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
  // The supervisor composes it (instance/instance_status): the same answer any QMP client gets.
  const nlohmann::json out = query_mdevrun(m);
  const std::string& name = m.state.name;

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
            << "\n";
  // A spice display has no address from qemu: say where it is (VNC's is on the line above).
  if (const auto a = out.find("display_access");
      a != out.end() && a->contains("uri") && !out.contains("display_address"))
    std::cout << "  viewer      remote-viewer " << (*a)["uri"].get<std::string>()
              << "   (or: mdevrun display " << name << ")\n";
  std::cout << "  qmp socket  " << out["qmp_socket"].get<std::string>() << "\n";
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
  for (const auto& h : out.value("helpers", nlohmann::json::array()))
    std::cout << "  helper " << h["name"].get<std::string>() << "  pid " << h["pid"] << "  "
              << (h["running"] ? std::string("running")
                               : "exited (status " + h["exit_status"].dump() + "), see " +
                                     h["log"].get<std::string>())
              << "  socket " << h["socket"].get<std::string>() << "\n";
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Action& action) {
  auto o = std::make_shared<StatusOptions>();
  auto* sub = app.add_subcommand(
      "status", "Show an instance: state, pid, display, mdevs, slices, devices, helpers");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_flag("--json", o->json, "JSON for scripts");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_status(host, *o); }; });
}

}  // namespace mdevrun::cli

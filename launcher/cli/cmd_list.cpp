// `mdevrun list [--json]`: running instances; stale ones (supervisor gone) are cleaned up.
#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "instance/instance_registry.hpp"

namespace mdevrun::cli {
namespace {

struct ListOptions {
  bool json = false;
};

int run_list(const Host& host, const ListOptions& o) {
  const InstanceListing listing = list_instances(host);
  for (const auto& cleaned : listing.cleaned) std::cerr << "mdevrun: " << cleaned << "\n";
  for (const auto& failure : listing.failures) std::cerr << "mdevrun: " << failure.what() << "\n";
  nlohmann::json out = nlohmann::json::array();
  for (const auto& state : listing.running) {
    out.push_back(
        {{"name", state.name},
         {"qemu_pid", state.qemu_pid.value_or(0)},
         {"supervisor_pid", state.supervisor_pid.value_or(0)},
         {"uptime_seconds", static_cast<std::int64_t>(std::time(nullptr)) - state.started_at},
         {"profile", state.profile.string()},
         {"mdevs", state.mdevs.size()}});
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
  } else if (out.empty()) {
    std::cout << "no instances are running\n";
  } else {
    for (const auto& i : out)
      std::cout << i["name"].get<std::string>() << "  qemu pid " << i["qemu_pid"] << "  up "
                << i["uptime_seconds"] << " s  " << i["profile"].get<std::string>() << "\n";
  }
  // Listed all the same, but a cleanup that failed is never reported as success.
  return listing.failures.empty() ? 0 : static_cast<int>(listing.failures.front().code());
}

}  // namespace

void add_list(CLI::App& app, Action& action) {
  auto o = std::make_shared<ListOptions>();
  auto* sub = app.add_subcommand("list", "List running instances (and clean up dead ones)");
  sub->add_flag("--json", o->json, "JSON for scripts");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_list(host, *o); }; });
}

}  // namespace mdevrun::cli

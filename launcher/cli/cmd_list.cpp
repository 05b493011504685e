// `mdevrun list [--all] [--json] [--names]`: running instances (stale ones are cleaned up); with
// --all also the profiles defined by name. --names is for shell completion: names only, read-only.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "instance/instance_registry.hpp"
#include "os/named_profile.hpp"

namespace mdevrun::cli {
namespace {

struct ListOptions {
  bool json = false;
  bool all = false;
  bool names = false;
};

nlohmann::json instance_json(const InstanceState& state) {
  return {{"name", state.name},
          {"qemu_pid", state.qemu_pid.value_or(0)},
          {"supervisor_pid", state.supervisor_pid.value_or(0)},
          {"uptime_seconds", static_cast<std::int64_t>(std::time(nullptr)) - state.started_at},
          {"profile", state.profile.string()},
          {"mdevs", state.mdevs.size()}};
}

// Completion calls this on every TAB: no cleanup of stale instances, nothing on stderr.
int run_names(const Host& host, const ListOptions& o) {
  std::vector<std::string> names = running_instance_names(host);
  if (o.all)
    for (const auto& p : list_named_profiles(host)) names.push_back(p.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const auto& n : names) std::cout << n << "\n";
  return 0;
}

int run_list(const Host& host, const ListOptions& o) {
  if (o.names) return run_names(host, o);
  // --all without a runtime folder still lists the defined profiles.
  InstanceListing listing;
  if (!o.all || host.runtime) listing = list_instances(host);
  for (const auto& cleaned : listing.cleaned) std::cerr << "mdevrun: " << cleaned << "\n";
  for (const auto& failure : listing.failures) std::cerr << "mdevrun: " << failure.what() << "\n";
  const int rc = listing.failures.empty() ? 0 : static_cast<int>(listing.failures.front().code());
  if (o.all) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : join_defined_and_running(list_named_profiles(host), listing.running)) {
      nlohmann::json j = row.running ? instance_json(*row.running) : nlohmann::json::object();
      j["name"] = row.name;
      j["running"] = row.running.has_value();
      j["defined"] = row.defined.has_value();
      if (row.running) j["instance"] = row.running->name;
      if (row.defined) {
        j["profile"] = row.defined->file.string();
        if (!row.defined->problem.empty()) j["problem"] = row.defined->problem;
      }
      out.push_back(std::move(j));
    }
    if (o.json) {
      std::cout << out.dump(2) << "\n";
    } else if (out.empty()) {
      std::cout << "no profiles are defined and no instances are running\n";
    } else {
      for (const auto& j : out) {
        std::cout << std::left << std::setw(20) << j["name"].get<std::string>() << " "
                  << std::setw(8) << (j["running"].get<bool>() ? "running" : "stopped") << " "
                  << j["profile"].get<std::string>();
        if (j["running"].get<bool>())
          std::cout << "  (qemu pid " << j["qemu_pid"] << ", up " << j["uptime_seconds"] << " s"
                    << (j["instance"] != j["name"]
                            ? ", instance " + j["instance"].get<std::string>()
                            : std::string())
                    << ")";
        if (j.contains("problem"))
          std::cout << "  (refused: " << j["problem"].get<std::string>() << ")";
        std::cout << "\n";
      }
    }
    return rc;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& state : listing.running) out.push_back(instance_json(state));
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
  return rc;
}

}  // namespace

void add_list(CLI::App& app, Action& action) {
  auto o = std::make_shared<ListOptions>();
  auto* sub = app.add_subcommand("list", "List running instances (and clean up dead ones)");
  sub->add_flag("--all", o->all,
                "Also the profiles defined by name ($XDG_CONFIG_HOME/mdevrun, /etc/mdevrun), "
                "marked running or stopped");
  sub->add_flag("--json", o->json, "JSON for scripts");
  sub->add_flag("--names", o->names,
                "Only names, one a line, without cleanup (for shell completion; with --all "
                "profile names too)");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_list(host, *o); }; });
}

}  // namespace mdevrun::cli

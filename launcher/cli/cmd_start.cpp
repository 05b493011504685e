#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "error.hpp"
#include "launch_plan.hpp"
#include "profile_loader.hpp"
#include "shell_quote.hpp"

namespace mdevrun::cli {
namespace {

struct StartOptions {
  std::string profile;
  bool dry_run = false;
  bool json = false;
  bool detach = false;
};

int run_dry_run(const StartOptions& o) {
  LaunchPlan plan = plan_dry_run(load_profile(o.profile));
  for (const auto& note : plan.notes) std::cerr << "mdevrun: dry run: " << note << "\n";
  if (o.json) {
    std::cout << nlohmann::json(plan.argv).dump() << "\n";
  } else {
    std::cout << shell_join(plan.argv) << "\n";
  }
  return 0;
}

int run_start(const StartOptions& o) {
  if (o.dry_run) return run_dry_run(o);
  load_profile(o.profile);  // a bad profile is a usage error before anything else
  throw Error(ExitCode::failure, "start is not implemented yet; use --dry-run");
}

}  // namespace

void add_start(CLI::App& app, Action& action) {
  auto o = std::make_shared<StartOptions>();
  auto* sub =
      app.add_subcommand("start", "Ensure the profile's mdevs, start qemu and supervise it");
  sub->add_option("profile", o->profile, "Guest profile (JSON)")->required();
  sub->add_flag("--dry-run", o->dry_run,
                "Print the qemu command line and what would be created; change nothing");
  sub->add_flag("--json", o->json, "With --dry-run: print argv as a JSON array");
  sub->add_flag("--detach", o->detach, "Return once qemu is ready; a supervisor stays behind");
  sub->callback([o, &action] { action = [o] { return run_start(*o); }; });
}

}  // namespace mdevrun::cli

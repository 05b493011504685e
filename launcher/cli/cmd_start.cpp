// `mdevrun start PROFILE [--dry-run [--json]] [--detach]`.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/shell_quote.hpp"
#include "check/profile_files.hpp"
#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "instance/detached_start.hpp"
#include "instance/launch_plan.hpp"
#include "instance/supervisor.hpp"
#include "os/named_profile.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun::cli {
namespace {

struct StartOptions {
  std::string profile;
  bool dry_run = false;
  bool json = false;
  bool detach = false;
  double start_timeout_s = 30;
};

int run_dry_run(const Host& host, const StartOptions& o) {
  LaunchPlan plan = plan_dry_run(host, load_profile(resolve_profile_arg(host, o.profile)));
  for (const auto& note : plan.notes) std::cerr << "mdevrun: dry run: " << note << "\n";
  // Warnings, not errors: a dry run changes nothing and is run to inspect the argv, which it
  // still prints (exit 0).
  for (const auto& r : check_profile_files(plan.profile, effective_access))
    if (r.verdict != Verdict::pass)
      std::cerr << "mdevrun: warning: " << format_check_text(r) << "\n";
  if (o.json) {
    std::cout << nlohmann::json(plan.argv).dump() << "\n";
  } else {
    std::cout << shell_join(plan.argv) << "\n";
  }
  return 0;
}

SupervisorOptions supervisor_options(const Host& host, const StartOptions& o, bool echo) {
  SupervisorOptions so;
  so.host = host;
  so.echo_qemu_output = echo;
  so.start_timeout = std::chrono::milliseconds(static_cast<long long>(o.start_timeout_s * 1000));
  return so;
}

int run_start(const Host& host, const StartOptions& o) {
  if (o.dry_run) return run_dry_run(host, o);
  // A bad profile is a usage error before anything.
  Profile profile = load_profile(resolve_profile_arg(host, o.profile));
  const std::string waiting = "starting " + profile.name + ": devices, then qemu's monitor";
  if (o.detach) {
    std::string started;
    {
      ProgressLine progress(waiting);
      started = start_detached(std::move(profile), supervisor_options(host, o, false));
    }
    std::cout << started << "\n";
    return 0;
  }
  Supervisor vm(std::move(profile), supervisor_options(host, o, true));
  {
    ProgressLine progress(waiting);
    vm.start();
  }
  std::cerr << "mdevrun: " << vm.name() << " is running (qemu pid " << vm.qemu_pid()
            << "); Ctrl-C stops it\n";
  return vm.supervise();
}

}  // namespace

void add_start(CLI::App& app, Action& action) {
  auto o = std::make_shared<StartOptions>();
  auto* sub =
      app.add_subcommand("start", "Ensure the profile's mdevs, start qemu and supervise it");
  sub->add_option("profile", o->profile, kProfileHelp)->required();
  sub->add_flag("--dry-run", o->dry_run,
                "Print the qemu command line and what would be created; change nothing");
  sub->add_flag("--json", o->json, "With --dry-run: print argv as a JSON array");
  sub->add_flag("--detach", o->detach, "Return once qemu is ready; a supervisor stays behind");
  sub->add_option("--start-timeout", o->start_timeout_s,
                  "Seconds from spawning qemu to its QMP monitor answering (default 30)")
      ->check(seconds(false));
  sub->callback([o, &action] { action = [o](const Host& host) { return run_start(host, *o); }; });
}

}  // namespace mdevrun::cli

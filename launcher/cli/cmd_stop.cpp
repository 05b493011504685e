// `mdevrun stop NAME [--timeout S] [--force]`: instance/instance_stop does the work.
#include <iostream>
#include <memory>

#include "base/text.hpp"
#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "instance/instance_registry.hpp"
#include "instance/instance_stop.hpp"

namespace mdevrun::cli {
namespace {

struct StopOptions {
  std::string target;
  double timeout_s = 30;
  bool force = false;
};

int run_stop(const Host& host, const StopOptions& o) {
  StopPolicy policy;
  policy.guest_timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
  policy.force = o.force;
  const std::string name = instance_name_from_arg(o.target);
  std::string stopped;
  {
    ProgressLine progress(o.force ? "stopping " + name
                                  : "stopping " + name + ": waiting for the guest to power down (" +
                                        format_seconds(policy.guest_timeout) + ", then quit)");
    stopped = stop_instance(host, name, policy);
  }
  std::cout << stopped << "\n";
  return 0;
}

}  // namespace

void add_stop(CLI::App& app, Action& action) {
  auto o = std::make_shared<StopOptions>();
  auto* sub = app.add_subcommand("stop", "Stop an instance: powerdown, quit, SIGTERM, SIGKILL");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("--timeout", o->timeout_s, "Seconds to wait for the guest to power off (30)")
      ->check(seconds(true));
  sub->add_flag("--force", o->force, "Skip the guest powerdown: quit qemu at once");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_stop(host, *o); }; });
}

}  // namespace mdevrun::cli

// `mdevrun unplug NAME [DEVICE] [--timeout S] [--remove-mdev]` and `mdevrun plug NAME [DEVICE]`:
// instance/hotplug does the work.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "base/text.hpp"
#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "instance/hotplug.hpp"

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;

struct PlugOptions {
  std::string target;
  std::string device;
  double timeout_s = 10;
  bool remove_mdev = false;
};

int run_unplug(const Host& host, const PlugOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const std::chrono::milliseconds timeout(static_cast<long long>(o.timeout_s * 1000));
  std::optional<UnplugReport> report;
  {
    ProgressLine progress("unplugging " + (o.device.empty() ? "the first mdev" : o.device) +
                          " from " + m.state.name + ": waiting for the guest to let go (up to " +
                          format_seconds(timeout) + ")");
    report = unplug_device(m, o.device, timeout);
  }
  const UnplugReport& r = *report;
  std::cout << "unplugged " << r.id << " from " << m.state.name << " in " << format_seconds(r.took)
            << std::endl;  // before a failing removal's error
  if (!o.remove_mdev) return 0;
  if (const std::string note = remove_unplugged_mdev(m, r.id); !note.empty())
    std::cout << note << "\n";
  return 0;
}

int run_plug(const Host& host, const PlugOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const PlugReport r = plug_device(m, o.device);
  if (r.qemu_warning) std::cerr << "mdevrun: qemu: " << *r.qemu_warning << "\n";
  std::cout << "plugged " << r.id << " into " << m.state.name << "\n";
  return 0;
}

}  // namespace

void add_unplug(CLI::App& app, Action& action) {
  auto o = std::make_shared<PlugOptions>();
  auto* sub = app.add_subcommand("unplug", "Hot-unplug an mdev or device and wait for the guest");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("device", o->device, "Device id (default: the profile's first mdev)");
  sub->add_option("--timeout", o->timeout_s, "Seconds to wait for the guest (default 10)")
      ->check(seconds(false));
  sub->add_flag("--remove-mdev", o->remove_mdev,
                "Remove the mdev once unplugged (if mdevrun made it)");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_unplug(host, *o); }; });
}

void add_plug(CLI::App& app, Action& action) {
  auto o = std::make_shared<PlugOptions>();
  auto* sub = app.add_subcommand("plug", "Plug an unplugged mdev or device back in");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("device", o->device, "Device id (default: the profile's first mdev)");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_plug(host, *o); }; });
}

}  // namespace mdevrun::cli

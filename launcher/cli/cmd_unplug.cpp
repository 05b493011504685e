// `mdevrun unplug NAME [DEVICE] [--timeout S] [--remove-mdev]` and `mdevrun plug NAME [DEVICE]`.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "base/error.hpp"
#include "base/text.hpp"
#include "cli/command.hpp"
#include "devices/mdev_ensure.hpp"
#include "devices/mdev_remove.hpp"
#include "instance/instance_monitor.hpp"
#include "instance/ownership_journal.hpp"
#include "instance/qmp_exit_code.hpp"
#include "profile/profile_loader.hpp"
#include "qemu/qemu_cmdline.hpp"

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct PlugOptions {
  std::string target;
  std::string device;
  double timeout_s = 10;
  bool remove_mdev = false;
};

// The device ids qemu has now (children of /machine/peripheral).
std::vector<std::string> attached_ids(qmp::blocking_client& c) {
  std::vector<std::string> ids;
  for (const auto& p : c.qom_list("/machine/peripheral").value)
    if (p.type.rfind("child<", 0) == 0) ids.push_back(p.name);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

// The profile's device to act on: DEVICE, or the first mdev.
std::string pick_device(const Profile& p, const std::string& device, const std::string& name) {
  if (!device.empty()) return device;
  if (p.mdevs.empty())
    throw Error(ExitCode::usage, "profile of " + name + " has no mdev; name the device to act on");
  return p.mdevs.front().id;
}

const MdevSpec* find_mdev(const Profile& p, const std::string& id) {
  for (const auto& m : p.mdevs)
    if (m.id == id) return &m;
  return nullptr;
}

int run_unplug(const Host& host, const PlugOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const std::string& name = m.state.name;
  const Profile profile = load_profile(m.state.profile);
  const std::string id = pick_device(profile, o.device, name);
  if (const MdevSpec* spec = find_mdev(profile, id); spec && spec->ramfb)
    throw Error(ExitCode::usage, id +
                                     " uses ramfb, which needs vfio-pci-nohotplug: it cannot be "
                                     "unplugged; stop the VM instead (`mdevrun stop " +
                                     name + "`)");
  const milliseconds timeout(static_cast<long long>(o.timeout_s * 1000));
  const auto t0 = std::chrono::steady_clock::now();
  // device_del first: the list of devices is only fetched to explain a DeviceNotFound, so the
  // common path costs one round trip.
  const qmp::unplug_result r =
      translating_qmp_errors([&] { return m.qmp->device_del(id, timeout); });
  if (r.outcome == qmp::unplug_outcome::failed && r.error && r.error->cls == "DeviceNotFound") {
    const auto ids = translating_qmp_errors([&] { return attached_ids(*m.qmp); });
    throw Error(ExitCode::not_found,
                "no device \"" + id + "\" in " + name + "; its devices: " + joined(ids));
  }
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  switch (r.outcome) {
    case qmp::unplug_outcome::failed:
      throw Error(ExitCode::qmp_error, r.error ? r.error->to_string() : "device_del failed");
    case qmp::unplug_outcome::rejected:
      throw Error(ExitCode::unplug_rejected,
                  "the guest of " + name + " refused to unplug " + id +
                      " (DEVICE_UNPLUG_GUEST_ERROR); the device stays attached");
    case qmp::unplug_outcome::pending:
      throw Error(ExitCode::unplug_pending,
                  "the guest of " + name + " did not finish unplugging " + id + " within " +
                      format_seconds(timeout) +
                      "; it may still finish it: check with `mdevrun status " + name + "`");
    case qmp::unplug_outcome::done:
      break;
  }
  std::cout << "unplugged " << id << " from " << name << " in " << format_seconds(took) << "\n";
  if (!o.remove_mdev) return 0;
  for (const auto& md : m.state.mdevs) {
    if (md.id != id) continue;
    if (!md.created) {
      std::cout << "mdev " << md.uuid << " was not created by mdevrun: left in place\n";
    } else if (remove_mdev(m.host, md.uuid)) {
      std::cout << "removed mdev " << md.uuid << "\n";
    }
    return 0;
  }
  throw Error(ExitCode::usage, id + " is not an mdev: --remove-mdev does not apply");
}

int run_plug(const Host& host, const PlugOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const std::string& name = m.state.name;
  const Profile profile = load_profile(m.state.profile);
  const std::string id = pick_device(profile, o.device, name);
  DeviceProperties props;
  if (const MdevSpec* spec = find_mdev(profile, id)) {
    // Ensure all of them: the state keeps every mdev's ownership record. The supervisor already
    // holds the UUID locks, hence no lock_dir here.
    EnsureOptions eo;
    record_ownership_in(m.runtime.state_file(name), name, eo);
    const EnsureResult ensured = ensure_mdevs(m.host, name, profile.mdevs, EnsureMode::create, eo);
    const auto idx = static_cast<std::size_t>(spec - profile.mdevs.data());
    props = mdev_device_properties(profile, *spec, ensured.mdevs.at(idx));
  } else {
    const auto dev = std::find_if(profile.devices.begin(), profile.devices.end(),
                                  [&](const DeviceSpec& d) { return d.id == id; });
    if (dev == profile.devices.end())
      throw Error(ExitCode::not_found,
                  "the profile of " + name + " has no mdev or device \"" + id + "\"");
    props = extra_device_properties(profile, *dev);
  }
  translating_qmp_errors([&] {
    // QMP's device_add wants strictly typed JSON values, -device takes strings; HMP's device_add
    // parses the very option string -device does, so the device comes back exactly as started.
    const auto r = m.qmp->execute("human-monitor-command",
                                  {{"command-line", "device_add " + device_option(props)}});
    if (r.error) throw Error(ExitCode::qmp_error, r.error->to_string());
    const std::string text = r.value.is_string() ? r.value.get<std::string>() : "";
    if (!text.empty()) {
      // HMP returns errors and warnings alike as text: a vfio mdev without a reset method (the
      // kernel's mtty sample) makes qemu say "Cannot reset device ..." and still adds it. The
      // device being there is what counts; the text is passed on either way.
      std::string line = text.substr(0, text.find_last_not_of("\r\n") + 1);
      const auto ids = attached_ids(*m.qmp);
      if (std::find(ids.begin(), ids.end(), id) == ids.end())
        throw Error(ExitCode::qmp_error, "device_add " + id + ": " + line);
      std::cerr << "mdevrun: qemu: " << line << "\n";
    }
    return 0;
  });
  std::cout << "plugged " << id << " into " << name << "\n";
  return 0;
}

}  // namespace

void add_unplug(CLI::App& app, Action& action) {
  auto o = std::make_shared<PlugOptions>();
  auto* sub = app.add_subcommand("unplug", "Hot-unplug an mdev or device and wait for the guest");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("device", o->device, "Device id (default: the profile's first mdev)");
  sub->add_option("--timeout", o->timeout_s, "Seconds to wait for the guest (default 10)");
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

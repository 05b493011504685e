#include "instance/hotplug.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "base/text.hpp"
#include "devices/mdev_ensure.hpp"
#include "devices/mdev_remove.hpp"
#include "instance/intent_journal.hpp"
#include "instance/ownership_journal.hpp"
#include "instance/qmp_exit_code.hpp"
#include "profile/profile_loader.hpp"
#include "qemu/qemu_cmdline.hpp"

namespace mdevrun {
namespace {
using std::chrono::milliseconds;

// The profile's device to act on: `device`, or the first mdev.
std::string pick_device(const Profile& p, const std::string& device, const std::string& name) {
  if (!device.empty()) return device;
  if (!p.mdevs.empty()) return p.mdevs.front().id;
  if (!p.slices.empty()) return p.slices.front().id;
  throw Error(ExitCode::usage,
              "profile of " + name + " has no mdev or slice; name the device to act on");
}

const SliceSpec* find_slice(const Profile& p, const std::string& id) {
  for (const auto& s : p.slices)
    if (s.id == id) return &s;
  return nullptr;
}

const MdevSpec* find_mdev(const Profile& p, const std::string& id) {
  for (const auto& m : p.mdevs)
    if (m.id == id) return &m;
  return nullptr;
}

std::string ids_or_none(const std::vector<std::string>& ids) {
  return ids.empty() ? "none" : join(ids, ", ");
}

}  // namespace

UnplugReport unplug_device(InstanceMonitor& m, const std::string& device, milliseconds timeout) {
  const std::string& name = m.state.name;
  const Profile profile = load_profile(m.state.profile);
  UnplugReport report{pick_device(profile, device, name), {}};
  const std::string& id = report.id;
  if (const MdevSpec* spec = find_mdev(profile, id); spec && spec->ramfb)
    throw Error(ExitCode::usage, id +
                                     " uses ramfb, which needs vfio-pci-nohotplug: it cannot be "
                                     "unplugged; stop the VM instead (`mdevrun stop " +
                                     name + "`)");
  if (const SliceSpec* spec = find_slice(profile, id); spec && spec->ramfb)
    throw Error(ExitCode::usage, id +
                                     " uses ramfb, which needs vfio-pci-nohotplug: it cannot be "
                                     "unplugged; stop the VM instead (`mdevrun stop " +
                                     name + "`)");
  const auto t0 = std::chrono::steady_clock::now();
  // device_del first: the list of devices is only fetched to explain a DeviceNotFound, so the
  // common path costs one round trip.
  const qmp::unplug_result r =
      translating_qmp_errors([&] { return m.qmp->device_del(id, timeout); });
  if (r.outcome == qmp::unplug_outcome::failed && r.error && r.error->cls == "DeviceNotFound") {
    const auto ids = translating_qmp_errors([&] { return attached_device_ids(*m.qmp); });
    throw Error(ExitCode::not_found,
                "no device \"" + id + "\" in " + name + "; its devices: " + ids_or_none(ids));
  }
  report.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
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
  return report;
}

std::string remove_unplugged_mdev(InstanceMonitor& m, const std::string& id) {
  for (const auto& md : m.state.mdevs) {
    if (md.id != id) continue;
    if (!md.created) return "mdev " + md.uuid + " was not created by mdevrun: left in place";
    IntentJournal journal(m.runtime.journal_file(m.state.name));
    RemoveOptions options;
    options.log = &journal;
    return remove_mdev(m.host, md.uuid, options) ? "removed mdev " + md.uuid : std::string();
  }
  throw Error(ExitCode::usage, id + " is not an mdev: --remove-mdev does not apply");
}

PlugReport plug_device(InstanceMonitor& m, const std::string& device) {
  const std::string& name = m.state.name;
  const Profile profile = load_profile(m.state.profile);
  PlugReport report{pick_device(profile, device, name), {}};
  const std::string& id = report.id;
  DeviceProperties props;
  if (const MdevSpec* spec = find_mdev(profile, id)) {
    // Ensure all of them: the state keeps every mdev's ownership record. The supervisor already
    // holds the UUID locks, hence no lock_dir here.
    EnsureOptions eo;
    record_ownership_in(m.runtime.state_file(name), name, eo);
    IntentJournal journal(m.runtime.journal_file(name));
    eo.log = &journal;
    eo.rollback.log = &journal;
    const EnsureResult ensured = ensure_mdevs(m.host, name, profile.mdevs, EnsureMode::create, eo);
    const auto idx = static_cast<std::size_t>(spec - profile.mdevs.data());
    props = mdev_device_properties(profile, *spec, ensured.mdevs.at(idx));
  } else if (const SliceSpec* slice = find_slice(profile, id)) {
    // The supervisor keeps the slice prepared (and locked) while it is unplugged.
    const auto r = std::find_if(m.state.slices.begin(), m.state.slices.end(),
                                [&](const ResolvedSlice& x) { return x.id == id; });
    if (r == m.state.slices.end())
      throw Error(ExitCode::not_found, "instance " + name + " has no prepared slice \"" + id +
                                           "\" (its state file does not list it)");
    props = slice_device_properties(profile, *slice, *r);
  } else {
    const auto dev = std::find_if(profile.devices.begin(), profile.devices.end(),
                                  [&](const DeviceSpec& d) { return d.id == id; });
    if (dev == profile.devices.end())
      throw Error(ExitCode::not_found,
                  "the profile of " + name + " has no mdev, slice or device \"" + id + "\"");
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
      const auto ids = attached_device_ids(*m.qmp);
      if (!std::binary_search(ids.begin(), ids.end(), id))
        throw Error(ExitCode::qmp_error, "device_add " + id + ": " + line);
      report.qemu_warning = line;
    }
    return 0;
  });
  return report;
}

}  // namespace mdevrun

#pragma once
// Hot-unplug and plug of a running instance's mdevs and devices over its CLI monitor: the rules
// (which device, ramfb cannot go), the QMP exchange, and what happens to the mdev. `mdevrun
// unplug/plug` only parse and print what these return.
//
// Blocking, on the InstanceMonitor's thread. Errors: mdevrun::Error with the documented codes
// (usage, not_found, qmp_error, unplug_rejected, unplug_pending, mdev, busy, ...); nothing printed.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "instance/instance_monitor.hpp"

namespace mdevrun {

struct UnplugReport {
  std::string id;                  ///< the device unplugged
  std::chrono::milliseconds took;  ///< device_del until DEVICE_DELETED
};

/// Unplugs `device` (empty: the profile's first mdev) and waits up to `timeout` for the guest to
/// let go of it.
UnplugReport unplug_device(InstanceMonitor& m, const std::string& device,
                           std::chrono::milliseconds timeout);

/// After unplug_device: removes the mdev of device `id` if mdevrun created it. Returns what was
/// done ("removed mdev UUID", "... left in place"; empty when it was already gone). Throws
/// Error(usage) when `id` is not an mdev, or remove_mdev's errors.
std::string remove_unplugged_mdev(InstanceMonitor& m, const std::string& id);

struct PlugReport {
  std::string id;                           ///< the device plugged
  std::optional<std::string> qemu_warning;  ///< qemu's text when it added the device anyway
};

/// Plugs `device` (empty: the profile's first mdev) back in exactly as the profile starts it;
/// an mdev is ensured first (created again if it was removed, and recorded in the state file).
PlugReport plug_device(InstanceMonitor& m, const std::string& device);

}  // namespace mdevrun

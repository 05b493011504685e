#pragma once
// `mdevrun export PROFILE --mdevctl`: the profile's mdevs as mdevctl definitions, so they survive
// reboots and a desktop user can reuse them without root. Pure: resolved mdevs in, text out.
// A definition is the file /etc/mdevctl.d/<parent>/<uuid> holding
// {"mdev_type": TYPE, "start": "auto"|"manual", "attrs": []}; `mdevctl define` writes the same.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/resolved_mdev.hpp"

namespace mdevrun {

/// The definition file's JSON.
nlohmann::json mdevctl_definition(const ResolvedMdev& mdev, bool auto_start);

/// Where mdevctl keeps the definition: "/etc/mdevctl.d/<parent>/<uuid>".
std::string mdevctl_definition_path(const ResolvedMdev& mdev);

/// A POSIX shell script (run as root): per mdev a comment with the file and its JSON, then
/// `mdevctl define` (with --auto when auto_start) and, unless the mdev exists already,
/// `mdevctl start`. Every mdev needs a parent (throws Error(usage) naming the device otherwise).
std::string mdevctl_script(const std::vector<ResolvedMdev>& mdevs, bool auto_start);

}  // namespace mdevrun

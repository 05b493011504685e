#pragma once
// The messages of the mdev layer's failures, each naming the device or sysfs file and the fix.
// One place, so the planner, the create step and `check` say the same thing. Every function
// throws mdevrun::Error (or returns the message for one).

#include <string>
#include <string_view>

#include "devices/mdev_discovery.hpp"
#include "os/host.hpp"

namespace mdevrun {

/// No parent registered at all (class/mdev_bus empty or missing).
std::string no_parent_message(const Host& host);

/// `type` has no free instance on `parents`; `detail` says how we know.
std::string no_free_message(std::string_view type, std::string_view parents,
                            std::string_view detail);

/// A write of `uuid` to `type`'s `create` failed with `error` (errno): Error(mdev), or
/// Error(permission) for EACCES/EPERM with the mdevctl way to create it once as root.
[[noreturn]] void throw_create_failed(int error, const std::string& uuid, const MdevType& type);

}  // namespace mdevrun

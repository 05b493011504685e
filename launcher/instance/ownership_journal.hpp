#pragma once
// The instance side of the device layer's ownership record: ensure_mdevs reports what it reused
// or created, and this keeps that list in the instance's state file, so cleanup (stop, a dead
// supervisor found by `list`) removes exactly the devices the instance created.

#include <filesystem>
#include <string>

#include "devices/mdev_ensure.hpp"

namespace mdevrun {

/// Loads the state file at `path` (a new state named `name` when there is none), sets
/// `options.owned` to the devices it records as created, and `options.record` to replace its mdev
/// list and save it atomically on every report. Throws Error(failure) for an unreadable state.
void record_ownership_in(const std::filesystem::path& path, const std::string& name,
                         EnsureOptions& options);

}  // namespace mdevrun

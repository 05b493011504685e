#pragma once
// What `mdevrun status` shows about a running instance, as one JSON object: the supervisor's
// `query-mdevrun` answers with it and the CLI prints it. Pure composition of what the caller
// gathered (its state, qemu's answers) with what sysfs says now about each mdev and slice.
//
// Threading: none. Errors: does not throw for an unreadable profile or sysfs (the fields say so).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "instance/state_file.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// What qemu said just now.
struct QemuFacts {
  std::string run_status = "unknown";          ///< query-status .status
  std::vector<std::string> attached;           ///< attached_device_ids(), sorted
  std::optional<std::string> display_address;  ///< "host:port" from query-vnc, if any
  std::filesystem::path spice_socket;          ///< where a local spice display listens
};

/// The status object: name, status, qemu_pid, supervisor_pid, uptime_seconds, profile,
/// qmp_socket, mdevs, slices, devices, display (+ display_address), display_access (how to
/// connect: instance/display_access). `profile` none: display is
/// "unknown (profile no longer readable)" and no devices are listed.
nlohmann::json describe_instance(const Host& host, const InstanceState& state,
                                 const std::string& qmp_socket,
                                 const std::optional<Profile>& profile, const QemuFacts& facts);

}  // namespace mdevrun

#pragma once
// What `mdevrun status` shows about a running instance, as one JSON object: run state, pids,
// uptime, each mdev and slice as the kernel sees it now (present, driver, group), each device
// and whether qemu has it attached, and the display and where a viewer connects. The CLI prints
// it (as JSON or as text); the supervisor's `query-mdevrun` can answer with the same object.
//
// Blocking: one QMP round trip per question over the instance's monitor. Errors: qmp::system_error
// from the monitor (the caller maps it to an exit code); an unreadable profile is not an error
// (the display says so), since the instance runs whatever happened to the file since.

#include <nlohmann/json.hpp>

#include "instance/instance_monitor.hpp"

namespace mdevrun {

/// The status object of the instance behind `m` (keys: name, status, qemu_pid, supervisor_pid,
/// uptime_seconds, profile, qmp_socket, display, display_address when VNC, mdevs, slices,
/// devices).
nlohmann::json instance_status(InstanceMonitor& m);

}  // namespace mdevrun

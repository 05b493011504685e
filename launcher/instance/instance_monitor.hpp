#pragma once
// A CLI command's view of a running instance: where it is, its state file, and a QMP connection
// to the monitor kept for CLI clients (the supervisor holds the other one). The one place that
// turns an instance name (or its profile) into a monitor socket.
//
// Blocking; one thread per InstanceMonitor. Errors: mdevrun::Error (see each function).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "instance/runtime_dir.hpp"
#include "instance/state_file.hpp"
#include "os/host.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {

struct RunningInstance {
  RuntimeDir runtime;
  InstanceState state;
  std::filesystem::path cli_socket;  ///< the monitor for CLI clients
};

/// The running instance `name_or_profile` (a name, or a profile file whose name is used). Throws
/// Error(usage) for a bad name or profile, Error(not_found) when it does not run (a stale one is
/// cleaned up first and said so).
RunningInstance find_running_instance(const Host& host, const std::string& name_or_profile);

struct InstanceMonitor {
  RuntimeDir runtime;
  Host host;
  InstanceState state;
  std::unique_ptr<qmp::blocking_client> qmp;
};

/// find_running_instance, then connects to its CLI monitor within `timeout`. Throws like
/// find_running_instance, and Error(connect/timeout) when qemu does not answer.
InstanceMonitor connect_instance(const Host& host, const std::string& name_or_profile,
                                 std::chrono::milliseconds timeout);

/// The ids of the devices qemu has now (children of /machine/peripheral), sorted. Throws
/// qmp::system_error like any blocking_client call.
std::vector<std::string> attached_device_ids(qmp::blocking_client& monitor);

}  // namespace mdevrun

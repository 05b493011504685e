#pragma once
// A CLI command's view of a running instance: where it is, its state file, and a QMP connection
// to its supervisor's multiplexed socket (any number of clients at once; the supervisor holds
// qemu's monitor). The one place that turns an instance name (or its profile) into a socket.
//
// Blocking; one thread per InstanceMonitor. Errors: mdevrun::Error (see each function).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "instance/runtime_dir.hpp"
#include "instance/state_file.hpp"
#include "os/host.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {

struct RunningInstance {
  RuntimeDir runtime;
  InstanceState state;
  std::filesystem::path socket;  ///< the supervisor's QMP socket
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

/// find_running_instance, then connects to its supervisor's socket within `timeout`. Throws like
/// find_running_instance, and Error(connect/timeout) when the supervisor does not answer (the
/// message names it and points to `mdevrun list`).
InstanceMonitor connect_instance(const Host& host, const std::string& name_or_profile,
                                 std::chrono::milliseconds timeout);

/// The supervisor's `query-mdevrun` answer: what `status` shows (instance/instance_status). Throws
/// Error (qmp_error for an error reply; connect/timeout/protocol as translating_qmp_errors maps).
qmp::json query_mdevrun(InstanceMonitor& m);

/// Connects `client` to `instance`'s socket, with connect_instance's errors.
void connect_to_supervisor(qmp::blocking_client& client, const RunningInstance& instance,
                           std::chrono::milliseconds timeout);

/// The error connect_instance throws when `instance`'s supervisor did not answer with `why`: it
/// names the supervisor and its socket and points to `mdevrun list`.
Error supervisor_unreachable(const RunningInstance& instance, const qmp::connect_error& why);

/// The ids of the devices qemu has now (children of /machine/peripheral), sorted. Throws
/// qmp::system_error like any blocking_client call.
std::vector<std::string> attached_device_ids(qmp::blocking_client& monitor);

}  // namespace mdevrun

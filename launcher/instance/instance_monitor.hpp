#pragma once
// A CLI command's view of a running instance: its state file and a QMP connection to the monitor
// kept for CLI clients (the supervisor holds the other one).

#include <chrono>
#include <memory>
#include <string>

#include "instance/runtime_dir.hpp"
#include "instance/state_file.hpp"
#include "os/host.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {

struct InstanceMonitor {
  RuntimeDir runtime;
  Host host;
  InstanceState state;
  std::unique_ptr<qmp::blocking_client> qmp;
};

/// Finds the running instance `name_or_profile` and connects to its CLI monitor within `timeout`.
/// Throws Error(not_found) when it does not run, Error(connect/timeout) when qemu does not answer.
InstanceMonitor connect_instance(const Host& host, const std::string& name_or_profile,
                                 std::chrono::milliseconds timeout);

}  // namespace mdevrun

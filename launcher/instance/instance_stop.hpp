#pragma once
// Stopping a running instance from another process (`mdevrun stop`): asks its supervisor
// (`mdevrun-stop` on its QMP socket) to run the StopSequence, which it does on its own monitor
// whatever other clients are connected; only when the supervisor does not answer is the sequence
// driven from here, through qemu's second monitor and kill(2). Then a bounded wait for the
// supervisor to finish cleaning up (it removes the mdevs it created and the runtime folder, then
// drops its lock).
//
// Blocking; call from any one thread. Errors: Error(not_found) when no instance runs under that
// name, Error(timeout) when the supervisor does not finish cleaning up within 30 s.

#include <string>

#include "instance/stop_sequence.hpp"
#include "os/host.hpp"

namespace mdevrun {

/// Stops instance `name` (already validated) and returns the line to print: "stopped NAME: HOW"
/// (HOW is StopSequence::outcome()), or what was cleaned up when its supervisor had died.
std::string stop_instance(const Host& host, const std::string& name, const StopPolicy& policy);

}  // namespace mdevrun

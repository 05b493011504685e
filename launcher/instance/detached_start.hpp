#pragma once
// `mdevrun start --detach`: the Supervisor in a child process of its own session, so the VM
// outlives the command and its terminal. The child reports back on a pipe once qemu's monitor
// answered (or start failed), and this returns only then.
//
// Call from a single-threaded process (it forks). Errors: the Supervisor's start() Error, passed
// back with its exit code; Error(failure) when the child cannot be started or dies first.

#include <string>

#include "instance/supervisor.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// Starts `profile` detached and returns the line to print ("started NAME (qemu pid N); ...").
std::string start_detached(Profile profile, SupervisorOptions options);

}  // namespace mdevrun

#pragma once
// A test hook for the "nothing left behind" guarantee: each host-changing step of mdevrun calls
// crash_point(), and when $MDEVRUN_TEST_CRASH_AT is N the process SIGKILLs itself at its Nth
// call, so a test can kill start, stop, plug, unplug and cleanup at every step instead of at
// random times. $MDEVRUN_TEST_CRASH_LOG names a file to which each call appends its step name
// (how a test learns how many steps there are). Inert unless set: then one relaxed load per call.
// The variables are read once per process (this is the one reader besides Host::from_env).
//
// Thread-safe.

namespace mdevrun {

/// Counts this step; SIGKILLs the process if it is the Nth. `step` names it in the log.
void crash_point(const char* step) noexcept;

}  // namespace mdevrun

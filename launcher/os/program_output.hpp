#pragma once
// Runs a short-lived helper program (e.g. `qemu-system-x86_64 -display help`) and returns what it
// printed. argv only, never a shell; bounded: a program that outlives the deadline is killed.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "os/process.hpp"

namespace mdevrun {

struct ProgramOutput {
  int exit_code = -1;  ///< as a shell reports it: 128+signal when killed by a signal
  std::string output;  ///< what was captured, in the order written
};

/// Spawns argv[0] (looked up in PATH when it has no '/') with stdin from /dev/null and waits at
/// most `deadline`, then kills it (SIGKILL). None when the program cannot be started (not found,
/// not executable).
/// `capture` is Output::pipe (stdout and stderr together) or Output::pipe_stdout (stderr stays
/// ours).
std::optional<ProgramOutput> run_program(const std::vector<std::string>& argv,
                                         std::chrono::milliseconds deadline,
                                         ChildOptions::Output capture = ChildOptions::Output::pipe);

}  // namespace mdevrun

#pragma once
// Running a program from a test, bounded, through the launcher's one process module: argv
// (run_command) or, for tests of shell scripts and command lines with redirections, `sh -c`
// (run_shell). Blocking; any thread.

#include <chrono>
#include <string>
#include <vector>

namespace mdevrun::testing {

struct CommandResult {
  int exit_code = -1;  ///< as a shell reports it (128+signal); -1 when it could not start
  std::string out;     ///< stdout, and stderr too with Stderr::merge
};

enum class Stderr {
  inherit,  ///< the program's stderr goes to the test's (ctest shows it on failure)
  merge,    ///< captured with stdout, in the order written
};

/// Runs argv, stdin from /dev/null; killed (SIGKILL) after `deadline`.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::seconds deadline = std::chrono::seconds(60),
                          Stderr err = Stderr::inherit);

/// run_command({"sh", "-c", script}, ...).
CommandResult run_shell(const std::string& script,
                        std::chrono::seconds deadline = std::chrono::seconds(60),
                        Stderr err = Stderr::inherit);

}  // namespace mdevrun::testing

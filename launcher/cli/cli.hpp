#pragma once
// The mdevrun command line: parses argv, runs the chosen subcommand, and maps errors to one line on
// stderr plus the documented exit code. Each subcommand lives in its own cmd_*.cpp file.

namespace mdevrun::cli {

/// Runs mdevrun with the given argv and returns the process exit code. Never throws.
int run(int argc, char** argv);

}  // namespace mdevrun::cli

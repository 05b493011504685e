#include "run_command.hpp"

#include "os/program_output.hpp"

namespace mdevrun::testing {

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds deadline,
                          Stderr err) {
  const auto capture =
      err == Stderr::merge ? ChildOptions::Output::pipe : ChildOptions::Output::pipe_stdout;
  const auto ran = run_program(argv, deadline, capture);
  if (!ran) return {};
  return {ran->exit_code, ran->output};
}

CommandResult run_shell(const std::string& script, std::chrono::seconds deadline, Stderr err) {
  return run_command({"sh", "-c", script}, deadline, err);
}

}  // namespace mdevrun::testing

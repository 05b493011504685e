#include "os/program_output.hpp"

#include <poll.h>

#include <cerrno>

namespace mdevrun {

std::optional<ProgramOutput> run_program(const std::vector<std::string>& argv,
                                         std::chrono::milliseconds deadline,
                                         ChildOptions::Output capture) {
  using Clock = std::chrono::steady_clock;
  ChildOptions options;
  options.output = capture;
  std::optional<Child> child;
  try {
    child = spawn(argv, options);
  } catch (const SpawnError&) {
    return std::nullopt;
  }
  ProgramOutput result;
  const auto end = Clock::now() + deadline;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{child->output().get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    char buf[4096];
    const ssize_t n = ::read(child->output().get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer closed (normally: the program exited)
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  // A program that exec'd but could not run its image reports 127 like a shell would.
  auto status = child->wait_until(end);
  if (!status) status = child->kill_and_reap();
  result.exit_code = status.value_or(-1);
  return result;
}

}  // namespace mdevrun

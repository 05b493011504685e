#include "cli/command.hpp"

namespace mdevrun::cli {
void add_check(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("check", "Check the host and a profile");
  sub->callback([&action] { action = [] { return 0; }; });
}
}  // namespace mdevrun::cli

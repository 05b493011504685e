#include "cli/command.hpp"

namespace mdevrun::cli {
void add_start(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("start", "Ensure the mdevs, start qemu and supervise it");
  sub->callback([&action] { action = [] { return 0; }; });
}
}  // namespace mdevrun::cli

#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/types_report.hpp"
#include "os/host.hpp"

namespace mdevrun::cli {
namespace {

struct TypesOptions {
  bool json = false;
};

int run_types(const Host& host, const TypesOptions& options) {
  const auto parents = list_parents(host);
  if (options.json)
    std::cout << types_json(parents).dump(2) << "\n";
  else
    std::cout << format_types_table(parents, host);
  return 0;
}

}  // namespace

void add_types(CLI::App& app, Action& action) {
  auto options = std::make_shared<TypesOptions>();
  auto* sub = app.add_subcommand(
      "types", "List mdev parents and their types: free instances, device API, existing devices");
  sub->add_flag("--json", options->json, "Print a JSON array for scripts");
  sub->callback([&action, options] {
    action = [options](const Host& host) { return run_types(host, *options); };
  });
}

}  // namespace mdevrun::cli

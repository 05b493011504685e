#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/types_report.hpp"
#include "os/sysfs_roots.hpp"

namespace mdevrun::cli {
namespace {

struct TypesOptions {
  bool json = false;
};

int run_types(const TypesOptions& options) {
  const SysfsRoots roots = SysfsRoots::from_env();
  const auto parents = list_parents(roots);
  if (options.json)
    std::cout << types_json(parents).dump(2) << "\n";
  else
    std::cout << format_types_table(parents, roots);
  return 0;
}

}  // namespace

void add_types(CLI::App& app, Action& action) {
  auto options = std::make_shared<TypesOptions>();
  auto* sub = app.add_subcommand(
      "types", "List mdev parents and their types: free instances, device API, existing devices");
  sub->add_flag("--json", options->json, "Print a JSON array for scripts");
  sub->callback([&action, options] { action = [options] { return run_types(*options); }; });
}

}  // namespace mdevrun::cli

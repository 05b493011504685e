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
  const auto pfs = list_sriov_pfs(host);
  if (options.json) {
    // mdev types first, as before; SR-IOV PFs after them, told apart by "kind".
    nlohmann::json all = types_json(parents);
    for (auto& pf : pci_json(pfs)) all.push_back(std::move(pf));
    std::cout << all.dump(2) << "\n";
  } else {
    std::cout << format_types_table(parents, host);
    if (!pfs.empty()) std::cout << "\nSR-IOV physical functions:\n" << format_pci_table(pfs);
  }
  return 0;
}

}  // namespace

void add_types(CLI::App& app, Action& action) {
  auto options = std::make_shared<TypesOptions>();
  auto* sub = app.add_subcommand(
      "types",
      "List mdev types (free instances, device API, devices) and SR-IOV PFs with their VFs");
  sub->add_flag("--json", options->json, "Print a JSON array for scripts");
  sub->callback([&action, options] {
    action = [options](const Host& host) { return run_types(host, *options); };
  });
}

}  // namespace mdevrun::cli

#include "cli/cli.hpp"

#include <exception>
#include <iostream>
#include <string_view>

#include "cli/command.hpp"
#include "error.hpp"
#include "version.hpp"

namespace mdevrun::cli {

int run(int argc, char** argv) {
  CLI::App app{"mdevrun: start QEMU virtual machines that use a Linux mediated device (mdev)"};
  app.set_version_flag("--version", std::string("mdevrun ") + kVersion);
  app.require_subcommand(1);
  Action action;
  add_start(app, action);
  add_check(app, action);
  add_export(app, action);
  add_types(app, action);
  add_qmp(app, action);
  add_events(app, action);
  add_status(app, action);
  add_unplug(app, action);
  add_plug(app, action);
  add_stop(app, action);
  add_list(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  try {
    return action ? action() : 0;
  } catch (const Error& e) {
    // One line per problem, each prefixed, so a profile with three mistakes shows all three.
    std::string_view rest = e.what();
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      std::cerr << "mdevrun: " << rest.substr(0, nl) << "\n";
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "mdevrun: internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::failure);
  }
}

}  // namespace mdevrun::cli

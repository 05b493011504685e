#include "cli/cli.hpp"

#include <cmath>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/did_you_mean.hpp"
#include "base/error.hpp"
#include "cli/cli_docs.hpp"
#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "version.hpp"

namespace mdevrun::cli {
namespace {

const CLI::App* find_command(const CLI::App& app, std::string_view name) {
  for (const auto* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// CLI11 reports a usage error in two lines ("A subcommand is required" + "Run with --help ...")
// without saying what was typed; mdevrun's promise is one prefixed line that says what to do.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::vector<std::string> commands;
  for (const auto* sub : visible_commands(app)) commands.push_back(sub->get_name());
  std::string line = e.what();
  if (argc < 2) {
    line = "no command given";
  } else if (const std::string first = argv[1];
             !first.empty() && first[0] != '-' && !find_command(app, first)) {
    line = "unknown command \"" + first + "\"";
    if (auto near = did_you_mean(first, commands)) line += " (did you mean \"" + *near + "\"?)";
  }
  std::string all;
  for (const auto& c : commands) all += (all.empty() ? "" : ", ") + c;
  std::cerr << "mdevrun: " << line << "; commands: " << all << "; see mdevrun --help\n";
  return static_cast<int>(ExitCode::usage);
}

}  // namespace

CLI::Validator seconds(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value) || value < 0 ||
            (value == 0 && !zero_allowed) || value > 86400)
          return "expected seconds: a number " + std::string(zero_allowed ? "from 0" : "above 0") +
                 " up to 86400, got " + text;
        return {};
      },
      "SECONDS");
}

int run(int argc, char** argv) {
  CLI::App app{
      "mdevrun: start QEMU virtual machines with a slice of a device: a mediated device (mdev), an "
      "SR-IOV virtual function, or a whole PCI device"};
  app.set_version_flag("--version", std::string("mdevrun ") + kVersion);
  app.require_subcommand(1);
  // Accepted before or after the command: `mdevrun stop desk --quiet` reads naturally.
  app.fallthrough();
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress line while waiting (errors still print)");
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
  add_display(app, action);
  add_logs(app, action);
  add_console(app, action);
  // Last and hidden: it documents every command above (and any added later) from this tree.
  add_generate(app, action, kVersion);

  // `mdevrun help [COMMAND]` is what people type first; answer it like --help.
  if (argc >= 2 && std::string_view(argv[1]) == "help") {
    const CLI::App* sub = argc >= 3 ? find_command(app, argv[2]) : nullptr;
    if (argc >= 3 && !sub) {
      std::cerr << "mdevrun: help: unknown command \"" << argv[2] << "\"; see mdevrun --help\n";
      return static_cast<int>(ExitCode::usage);
    }
    std::cout << (sub ? sub : &app)->help();
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A subcommand's own errors (a missing PROFILE, an unknown flag) are one CLI11 line already.
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(app, e, argc, argv);
  }
  ProgressLine::set_quiet(quiet);
  try {
    return action ? action(Host::from_env()) : 0;
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

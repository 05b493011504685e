#pragma once
// The man page and the shell completions, generated from the CLI11 definition itself (the hidden
// `mdevrun __generate` subcommand; the build runs it and `cmake --install` installs the output),
// so a new subcommand or option is documented and completed without anyone writing it twice.
//
// What completes where is read from the definition too: a positional named "name" (any case)
// completes running instance names (`mdevrun list --names`), one named "profile" completes
// profile names (`mdevrun list --all --names`) and *.json files, options with a value take a
// file name. Pure functions of the App: no I/O, thread-safe for a const App.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"

namespace mdevrun::cli {

/// The subcommands a user sees (hidden ones, whose group is empty, left out), in definition
/// order. The docs test compares every generated file with this list.
std::vector<const CLI::App*> visible_commands(const CLI::App& app);

std::string man_page(const CLI::App& app, const std::string& version);
std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);
std::string fish_completion(const CLI::App& app);

/// Adds the hidden `__generate man|bash|zsh|fish|commands|exit-codes [-o FILE]` subcommand over
/// `app` (which must outlive the action). `commands` prints visible_commands, one a line.
void add_generate(CLI::App& app, Action& action, const std::string& version);

}  // namespace mdevrun::cli

#pragma once
// How subcommands plug into the CLI (the CLI11 "subcommands in files" pattern): each add_X creates
// its subcommand with an options struct and, when the subcommand is chosen, sets `action` to the
// function that runs it. Parsing finishes before anything runs, so parsing stays testable.

#include <functional>

#include <CLI/CLI.hpp>

#include "os/host.hpp"

namespace mdevrun::cli {

/// For options in seconds: a finite number from `min` (exclusive when 0 is not allowed) to one
/// day. CLI11's PositiveNumber lets NaN through, and a negative or NaN timeout must be a usage
/// error (exit 2), not a deadline in the past.
CLI::Validator seconds(bool zero_allowed);

/// The help of every PROFILE argument (the rule is os/named_profile.hpp's).
inline constexpr const char* kProfileHelp =
    "Guest profile: a JSON file (a path with '/' or ending in .json), or a NAME for NAME.json in "
    "$XDG_CONFIG_HOME/mdevrun (~/.config/mdevrun) or /etc/mdevrun";

/// Runs the chosen subcommand on the host read once by run() (Host::from_env).
using Action = std::function<int(const Host&)>;

void add_start(CLI::App& app, Action& action);
void add_check(CLI::App& app, Action& action);
void add_export(CLI::App& app, Action& action);
void add_types(CLI::App& app, Action& action);
void add_qmp(CLI::App& app, Action& action);
void add_events(CLI::App& app, Action& action);
void add_status(CLI::App& app, Action& action);
void add_unplug(CLI::App& app, Action& action);
void add_plug(CLI::App& app, Action& action);
void add_stop(CLI::App& app, Action& action);
void add_list(CLI::App& app, Action& action);
void add_display(CLI::App& app, Action& action);
void add_logs(CLI::App& app, Action& action);
void add_console(CLI::App& app, Action& action);

}  // namespace mdevrun::cli

// `mdevrun qmp` and `mdevrun events`: one raw QMP command, or the event stream, on any QEMU
// monitor socket. Parsing fills the options structs; run_* does the work through qmp's blocking
// facade; errors become mdevrun::Error with the documented exit codes.

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/text.hpp"
#include "cli/command.hpp"
#include "instance/instance_monitor.hpp"
#include "instance/qmp_exit_code.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun::cli {
namespace {

using std::chrono::milliseconds;

/// Which monitor a command talks to: --socket PATH, or a running instance's NAME (its
/// supervisor's socket). connect_target() is the one place that turns either into a connection.
struct MonitorTarget {
  std::string socket;
  std::string name;
};

/// Resolves the target before the caller's deadline starts to count for the connect.
struct ResolvedTarget {
  std::optional<RunningInstance> instance;
  std::string socket;
};

ResolvedTarget resolve_target(const Host& host, const MonitorTarget& target) {
  if (!target.socket.empty()) return {std::nullopt, target.socket};
  if (target.name.empty())
    throw Error(ExitCode::usage, "name a running instance or give --socket PATH");
  RunningInstance found = find_running_instance(host, target.name);
  std::string socket = found.socket.string();
  return {std::move(found), std::move(socket)};
}

void connect_target(qmp::blocking_client& monitor, const ResolvedTarget& target,
                    milliseconds timeout) {
  if (target.instance) return connect_to_supervisor(monitor, *target.instance, timeout);
  translating_qmp_errors([&] {
    monitor.connect(target.socket, timeout);
    return 0;
  });
}

void add_target_options(CLI::App& sub, MonitorTarget& target) {
  sub.add_option("--socket", target.socket, "QMP monitor socket of any running qemu")
      ->type_name("PATH");
}

// `[NAME] REST...`: without --socket the first positional word names the instance.
void split_target(MonitorTarget& target, std::vector<std::string>& words) {
  if (target.socket.empty() && !words.empty()) {
    target.name = words.front();
    words.erase(words.begin());
  }
}

struct QmpOptions {
  MonitorTarget target;
  std::vector<std::string> words;  // [NAME] COMMAND [ARGS-JSON]
  double timeout_s = 10;
  std::string command;
  std::string args_json;
  bool debug = false;
};

struct EventsOptions {
  MonitorTarget target;
  std::vector<std::string> words;  // [NAME]
  std::string until;
  double timeout_s = 0;  // 0: no bound
  bool debug = false;
};

milliseconds to_ms(double seconds) {
  return milliseconds(static_cast<long long>(seconds * 1000));
}

qmp::config make_config(bool debug) {
  qmp::config cfg;
  if (debug) {
    cfg.transcript = [](qmp::direction d, std::string_view line) {
      std::cerr << qmp::arrow(d) << line << '\n';
    };
  }
  return cfg;
}

milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, milliseconds(1));
}

int run_qmp(const Host& host, QmpOptions opts) {
  split_target(opts.target, opts.words);
  if (opts.words.empty() || opts.words.size() > 2)
    throw Error(ExitCode::usage, "usage: mdevrun qmp (NAME | --socket PATH) COMMAND [ARGS-JSON]");
  opts.command = opts.words[0];
  if (opts.words.size() == 2) opts.args_json = opts.words[1];
  qmp::json args = nullptr;
  if (!opts.args_json.empty()) {
    args = qmp::json::parse(opts.args_json, nullptr, false);
    if (args.is_discarded())
      throw Error(ExitCode::usage, "ARGS-JSON is not valid JSON: " + opts.args_json);
    if (!args.is_object())
      throw Error(ExitCode::usage, "ARGS-JSON must be a JSON object: " + opts.args_json);
  }
  const auto deadline = std::chrono::steady_clock::now() + to_ms(opts.timeout_s);
  const ResolvedTarget target = resolve_target(host, opts.target);
  qmp::blocking_client monitor(make_config(opts.debug));
  return translating_qmp_errors([&] {
    // Pipelined behind qmp_capabilities: one round trip instead of two.
    qmp::reply r;
    try {
      const milliseconds left = remaining(deadline);
      r = monitor.connect_and_execute(target.socket, left, opts.command, args, left);
    } catch (const qmp::connect_error& e) {
      if (target.instance) throw supervisor_unreachable(*target.instance, e);
      throw;
    }
    if (r.error) throw Error(ExitCode::qmp_error, r.error->to_string());
    std::cout << r.value.dump(2, ' ', false, qmp::json::error_handler_t::replace) << '\n';
    return 0;
  });
}

int run_events(const Host& host, EventsOptions opts) {
  split_target(opts.target, opts.words);
  if (!opts.words.empty())
    throw Error(ExitCode::usage, "usage: mdevrun events (NAME | --socket PATH) [--until EVENT]");
  const bool bounded = opts.timeout_s > 0;
  const auto deadline = std::chrono::steady_clock::now() + to_ms(opts.timeout_s);
  const ResolvedTarget target = resolve_target(host, opts.target);
  qmp::blocking_client monitor(make_config(opts.debug));
  auto events = monitor.listen({});  // before connecting: not even the first event is missed
  connect_target(
      monitor, target,
      bounded ? remaining(deadline) : monitor.async_client().get_config().connect_timeout);
  return translating_qmp_errors([&] {
    for (;;) {
      std::optional<qmp::event> e;
      try {
        e = events.wait(bounded ? remaining(deadline) : milliseconds::zero());
      } catch (const qmp::system_error& err) {
        if (opts.until.empty() && err.code() == qmp::error::disconnected) return 0;  // qemu quit
        if (err.code() == qmp::error::disconnected) {
          throw Error(ExitCode::connect, "the monitor closed before " + opts.until);
        }
        throw;
      }
      if (!e) {
        if (opts.until.empty()) return 0;
        throw Error(ExitCode::timeout,
                    "no " + opts.until + " event within " + format_seconds(to_ms(opts.timeout_s)));
      }
      std::cout << e->to_json().dump(-1, ' ', false, qmp::json::error_handler_t::replace)
                << std::endl;  // one line per event, flushed: readers of a pipe see it now
      if (!opts.until.empty() && e->name == opts.until) return 0;
    }
  });
}

}  // namespace

void add_qmp(CLI::App& app, Action& action) {
  auto opts = std::make_shared<QmpOptions>();
  auto* sub =
      app.add_subcommand("qmp", "Send one QMP command to a qemu monitor and print the reply");
  add_target_options(*sub, opts->target);
  sub->add_option("--timeout", opts->timeout_s, "Seconds for connect + reply (default 10)")
      ->check(seconds(false))
      ->type_name("S");
  sub->add_flag("--debug", opts->debug, "Print every QMP message on stderr");
  // Three plain strings, not one list: CLI11 would read a list argument "[]" as "empty".
  auto word = [&](const char* name, const char* help) {
    sub->add_option_function<std::string>(
        name, [opts](const std::string& w) { opts->words.push_back(w); }, help);
  };
  word("NAME", "A running instance (unless --socket)");
  word("COMMAND", "QMP command, e.g. query-status");
  word("ARGS-JSON", "Arguments as a JSON object, e.g. '{\"id\":\"gpu0\"}'");
  sub->callback(
      [&action, opts] { action = [opts](const Host& host) { return run_qmp(host, *opts); }; });
}

void add_events(CLI::App& app, Action& action) {
  auto opts = std::make_shared<EventsOptions>();
  auto* sub = app.add_subcommand("events", "Print a qemu monitor's events as JSON lines");
  add_target_options(*sub, opts->target);
  sub->add_option("name", opts->words, "Instance name (unless --socket)");
  sub->add_option("--until", opts->until,
                  "Stop after this event (exit 5 if it does not come in time)")
      ->type_name("EVENT");
  sub->add_option("--timeout", opts->timeout_s, "Stop after S seconds (default: no bound)")
      ->check(seconds(false))
      ->type_name("S");
  sub->add_flag("--debug", opts->debug, "Print every QMP message on stderr");
  sub->callback(
      [&action, opts] { action = [opts](const Host& host) { return run_events(host, *opts); }; });
}

}  // namespace mdevrun::cli

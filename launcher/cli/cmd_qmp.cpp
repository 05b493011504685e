// `mdevrun qmp` and `mdevrun events`: one raw QMP command, or the event stream, on any QEMU
// monitor socket. Parsing fills the options structs; run_* does the work through qmp's blocking
// facade; errors become mdevrun::Error with the documented exit codes.

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/command.hpp"
#include "error.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun::cli {
namespace {

using std::chrono::milliseconds;

/// Which monitor a command talks to. Only --socket today; an instance NAME will be added here, and
/// resolve_socket() is the one place that turns either into a path.
struct MonitorTarget {
  std::string socket;
};

std::string resolve_socket(const MonitorTarget& target) {
  return target.socket;
}

void add_target_options(CLI::App& sub, MonitorTarget& target) {
  sub.add_option("--socket", target.socket, "QMP monitor socket of a running qemu")
      ->required()
      ->type_name("PATH");
}

struct QmpOptions {
  MonitorTarget target;
  double timeout_s = 10;
  std::string command;
  std::string args_json;
  bool debug = false;
};

struct EventsOptions {
  MonitorTarget target;
  std::string until;
  double timeout_s = 0;  // 0: no bound
  bool debug = false;
};

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

milliseconds to_ms(double seconds) {
  return milliseconds(static_cast<long long>(seconds * 1000));
}

ExitCode exit_code_for(const boost::system::error_code& ec) {
  if (ec.category() == qmp::error_category()) {
    switch (static_cast<qmp::error>(ec.value())) {
      case qmp::error::timeout:
        return ExitCode::timeout;
      case qmp::error::disconnected:
      case qmp::error::not_connected:
        return ExitCode::connect;
      case qmp::error::protocol_error:
      case qmp::error::message_too_large:
      case qmp::error::no_greeting:
      case qmp::error::negotiation_failed:
        return ExitCode::protocol;
      case qmp::error::cancelled:
      case qmp::error::already_connected:
        return ExitCode::failure;
    }
    return ExitCode::failure;
  }
  return ExitCode::connect;  // a system error from connect: ENOENT, ECONNREFUSED, EACCES, ...
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

/// Runs `f`, turning the QMP facade's exceptions into mdevrun::Error.
template <class F>
auto translating_errors(F&& f) {
  try {
    return f();
  } catch (const qmp::system_error& e) {
    throw Error(exit_code_for(e.code()), e.what());
  }
}

milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, milliseconds(1));
}

int run_qmp(const QmpOptions& opts) {
  qmp::json args = nullptr;
  if (!opts.args_json.empty()) {
    args = qmp::json::parse(opts.args_json, nullptr, false);
    if (args.is_discarded())
      throw Error(ExitCode::usage, "ARGS-JSON is not valid JSON: " + opts.args_json);
    if (!args.is_object())
      throw Error(ExitCode::usage, "ARGS-JSON must be a JSON object: " + opts.args_json);
  }
  const auto deadline = std::chrono::steady_clock::now() + to_ms(opts.timeout_s);
  const std::string path = resolve_socket(opts.target);
  return translating_errors([&] {
    qmp::blocking_client monitor(make_config(opts.debug));
    monitor.connect(path, remaining(deadline));
    qmp::reply r = monitor.execute(opts.command, args, remaining(deadline));
    if (r.error) throw Error(ExitCode::qmp_error, r.error->to_string());
    std::cout << r.value.dump(2, ' ', false, qmp::json::error_handler_t::replace) << '\n';
    return 0;
  });
}

int run_events(const EventsOptions& opts) {
  const bool bounded = opts.timeout_s > 0;
  const auto deadline = std::chrono::steady_clock::now() + to_ms(opts.timeout_s);
  const std::string path = resolve_socket(opts.target);
  return translating_errors([&] {
    qmp::blocking_client monitor(make_config(opts.debug));
    auto events = monitor.listen({});  // before connecting: not even the first event is missed
    monitor.connect(
        path, bounded ? remaining(deadline) : monitor.async_client().get_config().connect_timeout);
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
                    "no " + opts.until + " event within " + format_seconds(opts.timeout_s) + " s");
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
      ->check(CLI::PositiveNumber)
      ->type_name("S");
  sub->add_flag("--debug", opts->debug, "Print every QMP message on stderr");
  sub->add_option("COMMAND", opts->command, "QMP command, e.g. query-status")->required();
  sub->add_option("ARGS-JSON", opts->args_json,
                  "Arguments as a JSON object, e.g. '{\"id\":\"gpu0\"}'");
  sub->callback([&action, opts] { action = [opts] { return run_qmp(*opts); }; });
}

void add_events(CLI::App& app, Action& action) {
  auto opts = std::make_shared<EventsOptions>();
  auto* sub = app.add_subcommand("events", "Print a qemu monitor's events as JSON lines");
  add_target_options(*sub, opts->target);
  sub->add_option("--until", opts->until,
                  "Stop after this event (exit 5 if it does not come in time)")
      ->type_name("EVENT");
  sub->add_option("--timeout", opts->timeout_s, "Stop after S seconds (default: no bound)")
      ->check(CLI::PositiveNumber)
      ->type_name("S");
  sub->add_flag("--debug", opts->debug, "Print every QMP message on stderr");
  sub->callback([&action, opts] { action = [opts] { return run_events(*opts); }; });
}

}  // namespace mdevrun::cli

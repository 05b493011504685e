// `mdevrun start PROFILE [--dry-run [--json]] [--detach]`.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/shell_quote.hpp"
#include "check/profile_files.hpp"
#include "cli/command.hpp"
#include "cli/progress_line.hpp"
#include "instance/console_attach.hpp"
#include "instance/detached_start.hpp"
#include "instance/launch_plan.hpp"
#include "instance/supervisor.hpp"
#include "os/console_relay.hpp"
#include "os/named_profile.hpp"
#include "os/terminal.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun::cli {
namespace {

struct StartOptions {
  std::string profile;
  bool dry_run = false;
  bool json = false;
  bool detach = false;
  double start_timeout_s = 30;
};

int run_dry_run(const Host& host, const StartOptions& o) {
  LaunchPlan plan = plan_dry_run(host, load_profile(resolve_profile_arg(host, o.profile)));
  for (const auto& note : plan.notes) std::cerr << "mdevrun: dry run: " << note << "\n";
  // Warnings, not errors: a dry run changes nothing and is run to inspect the argv, which it
  // still prints (exit 0).
  for (const auto& r : check_profile_files(plan.profile, effective_access))
    if (r.verdict != Verdict::pass)
      std::cerr << "mdevrun: warning: " << format_check_text(r) << "\n";
  if (o.json) {
    std::cout << nlohmann::json(plan.argv).dump() << "\n";
  } else {
    std::cout << shell_join(plan.argv) << "\n";
  }
  return 0;
}

SupervisorOptions supervisor_options(const Host& host, const StartOptions& o, bool echo) {
  SupervisorOptions so;
  so.host = host;
  so.echo_qemu_output = echo;
  so.start_timeout = std::chrono::milliseconds(static_cast<long long>(o.start_timeout_s * 1000));
  return so;
}

// The foreground start's console client, on its own thread while supervise() runs the loop that
// serves it. The supervisor owns SIGINT/SIGTERM/SIGHUP (its orderly stop); the terminal comes
// back when the relay ends, which supervise()'s cleanup causes on every way out but SIGKILL.
void attach_terminal(std::string name, std::filesystem::path socket) {
  try {
    ConsoleSession s = open_console_socket(name, socket, ::getpid());
    RelayEnd end;
    {
      RawTerminal raw(STDIN_FILENO, {.keep_signals = true, .restore_on_signals = false});
      end = relay_console(s.socket.get(), STDIN_FILENO, STDOUT_FILENO, {});
    }
    // After the terminal is restored: whoever reads this line finds it in its old mode.
    if (end == RelayEnd::escape)
      std::cerr << "\nmdevrun: left " << name << "'s console; Ctrl-C stops the VM\n";
  } catch (const Error& e) {
    std::cerr << "mdevrun: " << e.what() << "\n";
  }
}

int run_start(const Host& host, const StartOptions& o) {
  if (o.dry_run) return run_dry_run(host, o);
  // A bad profile is a usage error before anything.
  Profile profile = load_profile(resolve_profile_arg(host, o.profile));
  const std::string waiting = "starting " + profile.name + ": devices, then qemu's monitor";
  if (o.detach) {
    std::string started;
    {
      ProgressLine progress(waiting);
      started = start_detached(std::move(profile), supervisor_options(host, o, false));
    }
    std::cout << started << "\n";
    return 0;
  }
  Supervisor vm(std::move(profile), supervisor_options(host, o, true));
  {
    ProgressLine progress(waiting);
    vm.start();
  }
  // A terminal on stdin is attached to the guest's serial, like `mdevrun console` but with
  // Ctrl-C still stopping the VM (the documented foreground contract); Ctrl-] gives the terminal
  // back while the VM keeps running in the foreground.
  const bool attach = vm.profile().serial.mode == SerialMode::console && ::isatty(STDIN_FILENO);
  std::cerr << "mdevrun: " << vm.name() << " is running (qemu pid " << vm.qemu_pid() << "); "
            << (attach ? "this terminal is its serial console: Ctrl-] leaves it, Ctrl-C stops "
                         "the VM\n"
                       : "Ctrl-C stops it\n");
  std::thread console;
  if (attach) console = std::thread(attach_terminal, vm.name(), vm.console_socket());
  const int status = vm.supervise();
  // supervise() closed the console socket: the relay has ended or ends now.
  if (console.joinable()) console.join();
  return status;
}

}  // namespace

void add_start(CLI::App& app, Action& action) {
  auto o = std::make_shared<StartOptions>();
  auto* sub =
      app.add_subcommand("start", "Ensure the profile's mdevs, start qemu and supervise it");
  sub->add_option("profile", o->profile, kProfileHelp)->required();
  sub->add_flag("--dry-run", o->dry_run,
                "Print the qemu command line and what would be created; change nothing");
  sub->add_flag("--json", o->json, "With --dry-run: print argv as a JSON array");
  sub->add_flag("--detach", o->detach, "Return once qemu is ready; a supervisor stays behind");
  sub->add_option("--start-timeout", o->start_timeout_s,
                  "Seconds from spawning qemu to its QMP monitor answering (default 30)")
      ->check(seconds(false));
  sub->callback([o, &action] { action = [o](const Host& host) { return run_start(host, *o); }; });
}

}  // namespace mdevrun::cli

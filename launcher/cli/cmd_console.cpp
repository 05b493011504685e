// `mdevrun console NAME [--linger S]`: attaches this terminal to the guest's serial console, which
// the supervisor serves (instance/serial_console). Raw terminal, Ctrl-] leaves, like virsh
// console. With stdin not a terminal (a pipe: scripts, tests) it forwards stdin and, at its end,
// prints what the guest still says until the output is quiet for --linger seconds.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "instance/console_attach.hpp"
#include "os/console_relay.hpp"
#include "os/terminal.hpp"

namespace mdevrun::cli {
namespace {

struct ConsoleOptions {
  std::string target;
  double linger_s = 1;
};

int run_console(const Host& host, const ConsoleOptions& o) {
  ConsoleSession s = open_console(host, o.target);
  std::cerr << "mdevrun: connected to " << s.name << "'s serial console; Ctrl-] leaves\n";
  RelayOptions ro;
  ro.linger = std::chrono::milliseconds(static_cast<long long>(o.linger_s * 1000));
  ro.linger_max = std::max(ro.linger_max, ro.linger * 2);
  RelayEnd end;
  {
    RawTerminal raw(STDIN_FILENO, {});
    end = relay_console(s.socket.get(), STDIN_FILENO, STDOUT_FILENO, ro);
  }
  // The terminal is itself again: a line of our own starts on a fresh line.
  if (end == RelayEnd::peer_closed) {
    std::cerr << "\nmdevrun: " << s.name << " ended; its console closed\n";
  } else if (end == RelayEnd::escape) {
    std::cerr << "\nmdevrun: left " << s.name << "'s console; the VM keeps running\n";
  }
  return 0;
}

}  // namespace

void add_console(CLI::App& app, Action& action) {
  auto o = std::make_shared<ConsoleOptions>();
  auto* sub = app.add_subcommand(
      "console", "Attach to the guest's serial console (Ctrl-] leaves; one client at a time)");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("--linger", o->linger_s,
                  "stdin not a terminal: after it ends, seconds of quiet output before leaving "
                  "(default 1)")
      ->check(seconds(true));
  sub->callback([o, &action] { action = [o](const Host& host) { return run_console(host, *o); }; });
}

}  // namespace mdevrun::cli

// `mdevrun logs NAME [--qemu] [-f]`: prints the guest's serial log (serial.log in the runtime dir
// for the served console, the default; the profile's file for "serial": {"mode": "file"}) or,
// with --qemu, what qemu wrote (qemu.log in the runtime dir); -f keeps printing what is appended
// until the instance ends or the user interrupts.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "instance/console_attach.hpp"
#include "instance/instance_monitor.hpp"

namespace mdevrun::cli {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct LogsOptions {
  std::string target;
  bool qemu = false;
  bool follow = false;
};

// Copies what `in` has from its position on to stdout; true when something was copied.
bool copy_new(std::ifstream& in) {
  char buf[65536];
  bool any = false;
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    std::cout.write(buf, in.gcount());
    any = true;
  }
  in.clear();  // at EOF: clear it so that what is appended later is read
  std::cout.flush();
  return any;
}

bool alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

int run_logs(const Host& host, const LogsOptions& o) {
  const RunningInstance r = find_running_instance(host, o.target);
  const fs::path path = o.qemu ? r.runtime.qemu_log(r.state.name) : serial_log_of(r);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ExitCode::not_found, r.state.name + ": cannot read " + path.string() +
                                         (o.qemu ? "" : " (the guest's serial log)"));
  copy_new(in);
  if (!o.follow) return 0;
  // Until the supervisor is gone (it removes the runtime directory after qemu): the log is
  // complete then. A polled read: inotify is not worth a dependency for a human-speed stream.
  const pid_t supervisor = r.state.supervisor_pid.value_or(0);
  while (alive(supervisor)) {
    if (!copy_new(in)) std::this_thread::sleep_for(200ms);
  }
  copy_new(in);
  return 0;
}

}  // namespace

void add_logs(CLI::App& app, Action& action) {
  auto o = std::make_shared<LogsOptions>();
  auto* sub = app.add_subcommand("logs", "Print the guest's serial log, or qemu's (--qemu)");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_flag("--qemu", o->qemu, "qemu's own output (qemu.log in the runtime directory)");
  sub->add_flag("-f,--follow", o->follow, "Keep printing what is appended until the VM ends");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_logs(host, *o); }; });
}

}  // namespace mdevrun::cli

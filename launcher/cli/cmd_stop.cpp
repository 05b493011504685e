// `mdevrun stop NAME [--timeout S] [--force]`: powerdown -> quit -> SIGTERM -> SIGKILL; the
// supervisor then cleans up, and this command waits until it has.
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "instance/instance_registry.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct StopOptions {
  std::string target;
  double timeout_s = 30;
  bool force = false;
};

template <class Pred>
bool wait_for(Pred done, milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

int run_stop(const Host& host, const StopOptions& o) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  const std::string name = instance_name_from_arg(o.target);
  if (auto cleaned = clean_stale_instance(host, name)) {
    std::cout << *cleaned << "\n";
    return 0;
  }
  if (!instance_running(host, name))
    throw Error(ExitCode::not_found, "no instance " + name +
                                         " is running; `mdevrun list` shows "
                                         "the running ones");
  const InstanceState state = load_state(runtime.state_file(name)).value();
  const auto qemu_alive = [&] { return instance_qemu_alive(host, state); };
  const milliseconds timeout(static_cast<long long>(o.timeout_s * 1000));

  std::string how = "powered down";
  try {
    qmp::blocking_client monitor;
    monitor.connect(runtime.qmp_cli_socket(name).string(), 5s);
    if (!o.force) {
      auto shutdown = monitor.listen({{"SHUTDOWN"}, {}});
      monitor.system_powerdown();
      try {
        if (!shutdown.wait(timeout))
          how = "quit after the guest ignored powerdown for " +
                std::to_string(static_cast<int>(o.timeout_s)) + " s";
      } catch (const qmp::system_error&) {
        // qemu closed the monitor: it is on its way out.
      }
    } else {
      how = "quit (forced)";
    }
    if (monitor.poll_connected()) monitor.execute("quit", nullptr, 5s);
  } catch (const qmp::system_error&) {
    // No monitor: fall through to signals.
  }
  if (!wait_for([&] { return !qemu_alive(); }, 5s) && state.qemu_pid) {
    ::kill(*state.qemu_pid, SIGTERM);
    how = "terminated (SIGTERM)";
    if (!wait_for([&] { return !qemu_alive(); }, 5s)) {
      ::kill(*state.qemu_pid, SIGKILL);
      how = "killed (SIGKILL)";
      wait_for([&] { return !qemu_alive(); }, 5s);
    }
  }
  // The supervisor removes the mdevs it created and the runtime folder, then drops its lock.
  if (!wait_for([&] { return !instance_running(host, name); }, 30s))
    throw Error(ExitCode::timeout, "qemu of " + name +
                                       " is gone but its supervisor did not "
                                       "finish cleaning up within 30 s; `mdevrun list` retries");
  std::cout << "stopped " << name << ": " << how << "\n";
  return 0;
}

}  // namespace

void add_stop(CLI::App& app, Action& action) {
  auto o = std::make_shared<StopOptions>();
  auto* sub = app.add_subcommand("stop", "Stop an instance: powerdown, quit, SIGTERM, SIGKILL");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_option("--timeout", o->timeout_s, "Seconds to wait for the guest to power off (30)");
  sub->add_flag("--force", o->force, "Skip the guest powerdown: quit qemu at once");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_stop(host, *o); }; });
}

}  // namespace mdevrun::cli

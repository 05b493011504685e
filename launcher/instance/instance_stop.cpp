#include "instance/instance_stop.hpp"

#include <csignal>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "instance/instance_monitor.hpp"
#include "instance/instance_registry.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {
namespace {
using namespace std::chrono_literals;
using std::chrono::milliseconds;

template <class Pred>
bool wait_for(Pred done, milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// One CLI monitor connection for the whole sequence; none when qemu's monitor does not answer
// (then powerdown and quit are skipped and signals end qemu).
std::unique_ptr<qmp::blocking_client> connect_monitor(const std::filesystem::path& socket) {
  auto monitor = std::make_unique<qmp::blocking_client>();
  try {
    monitor->connect(socket.string(), 5s);
    return monitor;
  } catch (const qmp::system_error&) {
    return nullptr;
  }
}

}  // namespace

std::string stop_instance(const Host& host, const std::string& name, const StopPolicy& policy) {
  if (auto cleaned = clean_stale_instance(host, name)) return *cleaned;
  if (!instance_running(host, name))
    throw Error(ExitCode::not_found,
                "no instance " + name + " is running; `mdevrun list` shows the running ones");
  const RunningInstance instance = find_running_instance(host, name);
  const InstanceState& state = instance.state;
  const auto qemu_alive = [&] { return instance_qemu_alive(host, state); };

  std::unique_ptr<qmp::blocking_client> monitor = connect_monitor(instance.cli_socket);
  const auto take = [&](StopStep step) {
    try {
      switch (step) {
        case StopStep::powerdown:
          if (!monitor || !monitor->poll_connected()) return false;
          monitor->system_powerdown();
          return true;
        case StopStep::quit:
          if (!monitor || !monitor->poll_connected()) return false;
          monitor->execute("quit", nullptr, 5s);
          return true;
        case StopStep::terminate:
        case StopStep::kill:
          // The recorded pid is signalled only while it still is this instance's qemu.
          if (!state.qemu_pid || !qemu_alive()) return true;
          ::kill(*state.qemu_pid, step == StopStep::terminate ? SIGTERM : SIGKILL);
          return true;
      }
    } catch (const qmp::system_error&) {
      // The monitor closed under us: qemu is on its way out, or the next step ends it.
    }
    return true;
  };

  StopSequence seq(policy);
  bool gone = !qemu_alive();
  while (!gone) {
    if (!take(seq.step())) {
      if (!seq.skip()) break;
      continue;
    }
    gone = wait_for([&] { return !qemu_alive(); }, seq.wait());
    if (!gone && !seq.advance()) break;
  }
  monitor.reset();
  if (!wait_for([&] { return !instance_running(host, name); }, 30s))
    throw Error(ExitCode::timeout, "qemu of " + name +
                                       " is gone but its supervisor did not "
                                       "finish cleaning up within 30 s; `mdevrun list` retries");
  return "stopped " + name + ": " + seq.outcome();
}

}  // namespace mdevrun

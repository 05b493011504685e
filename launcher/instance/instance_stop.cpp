#include "instance/instance_stop.hpp"

#include <csignal>
#include <filesystem>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "base/text.hpp"
#include "instance/instance_monitor.hpp"
#include "instance/instance_registry.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// How long a stop waits for an instance that is still starting (its qemu not yet spawned).
constexpr milliseconds kStartWait{60000};

template <class Pred>
bool wait_for(Pred done, milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// qemu is gone: waits for the supervisor to finish its cleanup and says how the VM went.
std::string finish_stop(const Host& host, const std::string& name, const std::string& how) {
  if (!wait_for([&] { return !instance_running(host, name); }, 30s))
    throw Error(ExitCode::timeout, "qemu of " + name +
                                       " is gone but its supervisor did not "
                                       "finish cleaning up within 30 s; `mdevrun list` retries");
  std::string line = "stopped " + name + ": " + how;
  // The supervisor keeps the folder only when its cleanup failed: retry now, and report a failure
  // that persists (the Error) instead of "stopped".
  if (auto retried = clean_stale_instance(host, name)) line += "; " + *retried;
  return line;
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

// The state of a running instance, waiting (bounded) while it is still starting: a stop that
// races a start waits until qemu runs, then stops it. A damaged state file gives a state with only
// the name: qemu is then found by its argv.
InstanceState wait_until_started(const Host& host, const std::string& name) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  const auto deadline = std::chrono::steady_clock::now() + kStartWait;
  for (;;) {
    std::optional<InstanceState> state;
    try {
      state = load_state(runtime.state_file(name));
    } catch (const Error&) {
      InstanceState known;
      known.name = name;
      return known;
    }
    if (state && state->qemu_pid) return *state;
    if (!instance_running(host, name)) {
      if (auto cleaned = clean_stale_instance(host, name))
        throw Error(ExitCode::not_found, *cleaned);
      throw Error(ExitCode::not_found,
                  "no instance " + name + " is running; `mdevrun list` shows the running ones");
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(ExitCode::timeout, "instance " + name + " is still starting after " +
                                         format_seconds(kStartWait) + "; stop it again later");
    std::this_thread::sleep_for(20ms);
  }
}

// Asks the supervisor to run its stop sequence (`mdevrun-stop`) and returns how it went; none
// when the supervisor does not answer on its socket (then the caller drives the sequence itself).
std::optional<std::string> stop_through_supervisor(const Host& host, const std::string& name,
                                                   const InstanceState& state,
                                                   const StopPolicy& policy) {
  const fs::path socket = RuntimeDir::of(host).monitor_socket(name);
  // The socket appears once qemu's monitor answered; a qemu that does not get there is stopped
  // from here as before (signals), after as long as a monitor connect would have waited.
  wait_for([&] { return fs::exists(socket) || !instance_qemu_alive(host, state); }, 5s);
  if (!fs::exists(socket) || !instance_qemu_alive(host, state)) return std::nullopt;
  qmp::blocking_client supervisor;
  try {
    supervisor.connect(socket.string(), 5s);
  } catch (const qmp::system_error&) {
    return std::nullopt;
  }
  // The whole escalation, and a margin for the supervisor's own steps.
  const milliseconds bound = policy.guest_timeout + 4 * policy.escalate_after + 10s;
  qmp::reply r;
  try {
    r = supervisor.execute("mdevrun-stop",
                           {{"timeout", static_cast<double>(policy.guest_timeout.count()) / 1000},
                            {"force", policy.force}},
                           bound);
  } catch (const qmp::system_error&) {
    return std::nullopt;  // it went away mid-stop: whatever is left is done from here
  }
  if (r.error)
    throw Error(ExitCode::qmp_error, "the supervisor of " + name + ": " + r.error->to_string());
  return r.value.value("outcome", std::string("stopped"));
}

}  // namespace

std::string stop_instance(const Host& host, const std::string& name, const StopPolicy& policy) {
  if (auto cleaned = clean_stale_instance(host, name)) return *cleaned;
  if (!instance_running(host, name))
    throw Error(ExitCode::not_found,
                "no instance " + name + " is running; `mdevrun list` shows the running ones");
  const RuntimeDir runtime = RuntimeDir::of(host);
  const InstanceState state = wait_until_started(host, name);
  InstanceState probe = state;  // with the pid found (by argv when the state was damaged)
  probe.qemu_pid = instance_qemu_pid(host, name, &state);
  const std::optional<pid_t> qemu_pid = probe.qemu_pid;
  const auto qemu_alive = [&] { return instance_qemu_alive(host, probe); };

  // The supervisor runs the one sequence, so the powerdown happens whoever else is connected.
  std::optional<std::string> how;
  if (qemu_alive()) how = stop_through_supervisor(host, name, probe, policy);
  if (how) return finish_stop(host, name, *how);

  // Fallback, for a supervisor that does not answer: the same sequence from here, through
  // qemu's own second monitor and kill(2).
  std::unique_ptr<qmp::blocking_client> monitor = connect_monitor(runtime.qmp_cli_socket(name));
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
          // The pid is signalled only while it still is this instance's qemu.
          if (!qemu_alive()) return true;
          ::kill(*qemu_pid, step == StopStep::terminate ? SIGTERM : SIGKILL);
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
  return finish_stop(host, name, seq.outcome());
}

}  // namespace mdevrun

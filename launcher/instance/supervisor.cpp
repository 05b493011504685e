#include "instance/supervisor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include <boost/asio/signal_set.hpp>

#include "base/error.hpp"
#include "base/text.hpp"
#include "instance/instance_registry.hpp"
#include "instance/instance_status.hpp"
#include "instance/instance_undo.hpp"
#include "instance/intent_journal.hpp"
#include "instance/launch_plan.hpp"
#include "instance/ownership_journal.hpp"
#include "instance/qmp_multiplexer.hpp"
#include "instance/serial_console.hpp"
#include "instance/state_file.hpp"
#include "os/crash_point.hpp"
#include "os/sd_notify.hpp"
#include "os/vfio_holders.hpp"
#include "qemu/helper_cmdline.hpp"
#include "qemu/qemu_cmdline.hpp"
#include "qemu/qemu_failure_hint.hpp"
#include "qmp/client.hpp"
#include "qmp/commands.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string describe_status(int status) {
  if (status > 128) return "killed by signal " + std::to_string(status - 128);
  return "exit status " + std::to_string(status);
}

qmp::reply generic_error(std::string desc) {
  qmp::reply r;
  r.error = qmp::qmp_error{"GenericError", std::move(desc)};
  return r;
}

}  // namespace

Supervisor::Supervisor(Profile profile, SupervisorOptions options)
    : profile_(std::move(profile)),
      opts_(std::move(options)),
      runtime_(RuntimeDir::of(opts_.host)),
      stop_timer_(ioc_) {}

Supervisor::~Supervisor() {
  if (qemu_ && qemu_->running()) {
    try {
      stop(opts_.escalate_after, /*force=*/true);
    } catch (...) {
    }
  }
  cleanup();
}

pid_t Supervisor::qemu_pid() const {
  return qemu_ ? qemu_->pid() : 0;
}
bool Supervisor::qemu_running() const {
  return qemu_ && qemu_->running();
}
fs::path Supervisor::cli_socket() const {
  return runtime_.qmp_cli_socket(profile_.name);
}
fs::path Supervisor::monitor_socket() const {
  return runtime_.monitor_socket(profile_.name);
}
fs::path Supervisor::console_socket() const {
  return runtime_.console_socket(profile_.name);
}
fs::path Supervisor::instance_dir() const {
  return runtime_.instance_dir(profile_.name);
}

qmp::client& Supervisor::qmp() {
  if (!qmp_) throw Error(ExitCode::connect, "instance " + profile_.name + " is not running");
  return *qmp_;
}

void Supervisor::start() {
  notify("STATUS=starting " + profile_.name);
  first_vars_copy_.clear();
  try {
    start_steps();
  } catch (...) {
    cleanup();
    if (!first_vars_copy_.empty()) {
      std::error_code ignored;
      fs::remove(first_vars_copy_, ignored);
    }
    throw;
  }
  first_vars_copy_.clear();
  notify("READY=1\nSTATUS=" + profile_.name + " is running (qemu pid " +
         std::to_string(qemu_->pid()) + ")");
}

void Supervisor::notify(const std::string& state) noexcept {
  // Not under a service manager, or it went away: nothing to tell, nothing to fail.
  if (!opts_.host.notify_socket.empty()) sd_notify_to(opts_.host.notify_socket, state);
}

void Supervisor::start_steps() {
  const std::string& name = profile_.name;
  check_socket_paths(runtime_, profile_, qemu_runtime_paths(runtime_, name));
  runtime_.ensure_locks_dir();
  std::optional<pid_t> holder;
  instance_lock_ = FileLock::try_lock(runtime_.instance_lock(name), &holder);
  // `list` removes orphaned lock files by taking and dropping them: a few retries over 50 ms
  // tell that moment from an instance that really runs.
  for (int i = 0; i < 10 && !instance_lock_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    instance_lock_ = FileLock::try_lock(runtime_.instance_lock(name), &holder);
  }
  if (!instance_lock_) {
    throw Error(ExitCode::busy,
                "instance " + name + " is already running" +
                    (holder ? " (supervisor pid " + std::to_string(*holder) + ")" : "") +
                    "; stop it with `mdevrun stop " + name +
                    "`, or give this profile another name");
  }
  cleaned_ = false;
  crash_point("instance lock taken");
  if (auto note = clean_stale_instance_locked(opts_.host, name))
    std::cerr << "mdevrun: " << *note << "\n";

  runtime_.create_instance_dir(name);
  crash_point("instance folder made");
  InstanceState state;
  state.name = name;
  state.profile = profile_.file;
  state.supervisor_pid = ::getpid();
  state.started_at = static_cast<std::int64_t>(std::time(nullptr));
  state.sockets = {{"qmp", runtime_.qmp_socket(name).string()},
                   {"qmp-cli", runtime_.qmp_cli_socket(name).string()},
                   {"monitor", runtime_.monitor_socket(name).string()}};
  if (profile_.serial.mode == SerialMode::console)
    state.sockets["console"] = runtime_.console_socket(name).string();
  const fs::path state_file = runtime_.state_file(name);
  save_state(state_file, state);
  crash_point("state saved");

  // Before the first host change: from here on every change is journaled before it is made.
  journal_ = std::make_unique<IntentJournal>(runtime_.journal_file(name));
  EnsureOptions eo;
  eo.lock_dir = runtime_.locks_dir();
  record_ownership_in(state_file, name, eo);
  eo.rollback = opts_.remove;
  eo.log = journal_.get();
  eo.rollback.log = journal_.get();
  ensured_ = ensure_mdevs(opts_.host, name, profile_.mdevs, EnsureMode::create, eo);
  if (!profile_.slices.empty()) {
    SliceEnsureOptions so;
    so.lock_dir = runtime_.locks_dir();
    so.log = journal_.get();
    slices_ = ensure_slices(opts_.host, profile_.slices, EnsureMode::create, so);
    if (auto s = load_state(state_file)) state = *s;
    state.slices = slices_.slices;
    save_state(state_file, state);
    crash_point("slices saved");
  }

  const QemuRuntimePaths paths = qemu_runtime_paths(opts_.host, profile_);
  if (profile_.firmware.type == FirmwareType::uefi && profile_.firmware.vars.empty()) {
    // Secure boot keeps its vars per profile (enrolled keys, boot entries): copied once.
    const bool keep = profile_.firmware.secure_boot;
    const fs::path& target = keep ? paths.profile_vars : paths.uefi_vars;
    std::error_code ec;
    if (!keep || !fs::exists(target, ec)) {
      if (keep) {
        fs::create_directories(target.parent_path(), ec);
        if (!ec) fs::permissions(target.parent_path(), fs::perms::owner_all, ec);
      }
      if (!ec) fs::copy_file(profile_.firmware.vars_template, target, ec);
      // A first start that fails takes its fresh copy back: nothing has used it yet.
      if (!ec && keep) first_vars_copy_ = target;
    }
    if (ec)
      throw Error(ExitCode::qemu_start, "cannot copy the UEFI vars template " +
                                            profile_.firmware.vars_template.string() + " to " +
                                            target.string() + ": " + ec.message() +
                                            "; install ovmf or set firmware.code "
                                            "and firmware.vars-template");
  }
  const auto argv = build_qemu_argv(profile_, ensured_.mdevs, slices_.slices, paths);
  if (profile_.serial.mode == SerialMode::console) {
    // Listening before qemu starts: qemu's serial connects at start-up, and everything the
    // guest prints from its first byte on reaches serial.log.
    SerialConsole::Options so;
    so.serial_socket = paths.serial_socket;
    so.console_socket = runtime_.console_socket(name);
    so.log_file = runtime_.serial_log(name);
    so.proc_root = opts_.host.proc;
    so.log = [this](const std::string& line) { log(line); };
    serial_ = std::make_unique<SerialConsole>(ioc_, std::move(so));
  }
  const auto helpers = helper_commands(profile_, paths);

  // Sockets and files qemu and its helpers create must be 0600 (a socket gets 0777 & ~umask):
  // the umask is inherited at fork.
  const mode_t old_umask = ::umask(0177);
  try {
    if (!helpers.empty()) {
      const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
      helpers_.start(helpers, *journal_, deadline, [&](const HelperCommand& h, pid_t) {
        if (auto s = load_state(state_file)) state = *s;
        state.sockets[h.name] = h.socket.string();
        save_state(state_file, state);
        crash_point("helper saved");
      });
    }
    qemu_ =
        std::make_unique<QemuProcess>(ioc_, argv, runtime_.qemu_log(name), opts_.echo_qemu_output);
  } catch (...) {
    ::umask(old_umask);
    throw;
  }
  ::umask(old_umask);
  crash_point("qemu spawned");

  if (auto s = load_state(state_file)) state = *s;
  state.qemu_pid = qemu_->pid();
  save_state(state_file, state);
  crash_point("qemu pid saved");

  wait_until_ready();
  // Before start() returns (and `start --detach` reports ready): a client that comes right after
  // finds the socket and waits in its backlog until supervise() serves it.
  start_multiplexer();
}

void Supervisor::start_multiplexer() {
  QmpMultiplexer::Options o;
  o.socket = runtime_.monitor_socket(profile_.name);
  o.log = [this](const std::string& line) { log(line); };
  o.local["mdevrun-stop"] = [this](const nlohmann::json& args, QmpMultiplexer::Done done) {
    stop_verb(args, std::move(done));
  };
  o.local["query-mdevrun"] = [this](const nlohmann::json& args, QmpMultiplexer::Done done) {
    if (!args.is_null() && !args.empty())
      return done(generic_error("Parameter '" + args.begin().key() + "' is unexpected"));
    query_verb(std::move(done));
  };
  mux_ = std::make_unique<QmpMultiplexer>(ioc_, *qmp_, std::move(o));
  watch_guest_shutdown();
  // Every client, the stop sequence and the events depend on this one connection: when it ends
  // before qemu does, the log says why.
  qmp_->async_wait_closed([this](boost::system::error_code ec) {
    if (ec == qmp::error::cancelled) return;  // our own close, in cleanup()
    log("qemu's monitor connection ended: " + ec.message() +
        (qmp_ && !qmp_->error_detail().empty() ? " (" + qmp_->error_detail() + ")" : "") +
        (qemu_ && qemu_->running() ? "; qemu still runs" : ""));
  });
}

// After the guest powers itself off qemu should exit at once, but qemu 7.2 can hang in its exit
// path (monitor_cleanup, seen with QMP commands still arriving): without a watchdog such a VM
// looks alive until the stop's full guest timeout, or forever when the guest shut down by
// itself. A profile whose qemu.args keep qemu after shutdown (-no-shutdown, -action
// shutdown=pause) is left alone.
void Supervisor::watch_guest_shutdown() {
  const auto& args = profile_.qemu.args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-no-shutdown") return;
    if (args[i] == "-action" && i + 1 < args.size() &&
        args[i + 1].find("shutdown=pause") != std::string::npos)
      return;
  }
  shutdown_events_ = std::make_unique<qmp::listener>(
      *qmp_, qmp::event_filter{{"SHUTDOWN"}, [](const qmp::event& e) {
                                 return e.data.value("reason", "") == "guest-shutdown";
                               }});
  shutdown_events_->async_wait([this](boost::system::error_code ec, qmp::event) {
    if (!ec) on_guest_shutdown();
  });
}

void Supervisor::on_guest_shutdown() {
  if (!qemu_ || !qemu_->running()) return;
  if (!stop_) stop_ = StopSequence({opts_.escalate_after, opts_.escalate_after, false});
  if (stop_->step() != StopStep::powerdown) return;  // a forced stop is already past it
  stop_->guest_shut_down();
  stop_timer_.cancel();
  stop_timer_.expires_after(opts_.escalate_after);
  stop_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !qemu_ || !qemu_->running() || !stop_->advance()) return;
    log("qemu did not exit within " + format_seconds(opts_.escalate_after) +
        " after its guest powered off; ending it");
    stopped_by_us_ = true;
    if (!stopping_)
      notify("STOPPING=1\nSTATUS=ending " + profile_.name + " (qemu hung after shutdown)");
    stopping_ = true;
    take_stop_step();
  });
}

// `mdevrun-stop {"timeout": S, "force": B}`: the one stop sequence, answered once qemu is gone
// with how it went ({"outcome": "powered down"}), so `mdevrun stop` prints what happened.
void Supervisor::stop_verb(const nlohmann::json& args, std::function<void(qmp::reply)> done) {
  double timeout_s = 30;
  bool force = false;
  if (!args.is_null()) {
    for (auto it = args.begin(); it != args.end(); ++it) {
      if (it.key() == "timeout") {
        if (!it->is_number() || it->get<double>() < 0)
          return done(generic_error("Invalid parameter 'timeout': a number of seconds >= 0"));
        timeout_s = it->get<double>();
      } else if (it.key() == "force") {
        if (!it->is_boolean())
          return done(generic_error("Invalid parameter type for 'force', expected: boolean"));
        force = it->get<bool>();
      } else {
        return done(generic_error("Parameter '" + it.key() + "' is unexpected"));
      }
    }
  }
  stop_waiters_.push_back(std::move(done));
  begin_stop(std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000)), force);
}

// `query-mdevrun`: what `mdevrun status` shows, from qemu's answers now and the state file.
void Supervisor::query_verb(std::function<void(qmp::reply)> done) {
  struct Query {
    QemuFacts facts;
    std::function<void(qmp::reply)> done;
  };
  auto q = std::make_shared<Query>();
  q->done = std::move(done);
  q->facts.spice_socket = qemu_runtime_paths(runtime_, profile_.name).spice_socket;
  auto finish = [this, q] {
    InstanceState state;
    try {
      if (auto s = load_state(runtime_.state_file(profile_.name))) state = *s;
    } catch (const Error&) {
    }
    state.name = profile_.name;
    qmp::json out =
        describe_instance(opts_.host, state, monitor_socket().string(), profile_, q->facts);
    out["stopping"] = stopping_;
    out["qmp_clients"] = mux_ ? mux_->client_count() : 0;
    out["helpers"] = qmp::json::array();
    for (const HelperProcesses::Status& h : helpers_.status()) {
      qmp::json j = {{"name", h.name},
                     {"pid", h.pid},
                     {"socket", h.socket.string()},
                     {"log", h.log.string()},
                     {"running", !h.exit_status}};
      if (h.exit_status) j["exit_status"] = *h.exit_status;
      out["helpers"].push_back(std::move(j));
    }
    q->done(qmp::reply{std::move(out), std::nullopt});
  };
  auto vnc = [this, q, finish] {
    if (!qmp_ || profile_.display.backend != DisplayBackend::vnc) return finish();
    // The address qemu chose (a VNC display is the first free one): where a viewer connects.
    qmp_->async_execute("query-vnc", nullptr, [q, finish](auto ec, qmp::reply r) {
      if (!ec && r.ok() && r.value.value("enabled", false) && r.value.contains("service") &&
          r.value["service"].is_string())
        q->facts.display_address =
            r.value.value("host", "") + ":" + r.value["service"].template get<std::string>();
      finish();
    });
  };
  auto devices = [this, q, vnc] {
    if (!qmp_) return vnc();
    qmp_->async_execute("qom-list", {{"path", "/machine/peripheral"}},
                        [q, vnc](auto ec, qmp::reply r) {
                          if (!ec && r.ok())
                            for (const auto& p : qmp::parse_qom_list(r.value))
                              if (p.type.starts_with("child<")) q->facts.attached.push_back(p.name);
                          std::sort(q->facts.attached.begin(), q->facts.attached.end());
                          vnc();
                        });
  };
  if (!qmp_) return finish();
  qmp_->async_execute("query-status", nullptr, [q, devices](auto ec, qmp::reply r) {
    if (!ec && r.ok()) q->facts.run_status = qmp::parse_status(r.value).status;
    devices();
  });
}

// qemu is gone: its last events are read (the monitor's eof comes after them), the callers of
// mdevrun-stop get how it went, and what is queued for clients is written, all within a second,
// before cleanup closes the socket.
void Supervisor::finish_clients() noexcept {
  if (!mux_) return;
  try {
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    ioc_.restart();
    while (qmp_ && qmp_->is_connected() && std::chrono::steady_clock::now() < deadline)
      ioc_.run_one_for(10ms);
    // The connection's end can be seen before the events read with it are handed on (they are
    // posted): run what is ready, so qemu's last SHUTDOWN reaches every client before they close
    // (a suspected cause of a CI run where no client saw SHUTDOWN).
    ioc_.restart();
    ioc_.poll();
    const std::string outcome = stop_ ? stop_->outcome() : "powered down";
    for (auto& done : std::exchange(stop_waiters_, {}))
      done(qmp::reply{{{"outcome", outcome}}, std::nullopt});
    while ((mux_->writing() || (serial_ && serial_->writing())) &&
           std::chrono::steady_clock::now() < deadline)
      ioc_.run_one_for(10ms);
  } catch (const std::exception& e) {
    log(std::string("finishing QMP clients: ") + e.what());
  }
}

void Supervisor::log(const std::string& line) noexcept {
  try {
    std::ofstream out(runtime_.supervisor_log(profile_.name), std::ios::app);
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
    out << stamp << " " << line << "\n";
  } catch (...) {
  }
}

void Supervisor::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  const fs::path socket = runtime_.qmp_socket(profile_.name);
  // qemu creates the socket early, then may still fail; ready is the capabilities reply. Polled
  // every millisecond for the first second (a 5 ms poll added 2.5 ms on average to a start of
  // ~30 ms), every 5 ms after that; a socket that exists but does not listen yet (bind() comes
  // before listen()) is retried after 200 us. An inotify watch on the folder instead was measured
  // slower: 47-54 ms against 30-35 ms for the 1 ms poll, same machine, alternating (not
  // understood; qemu is busy initialising when the event comes).
  const auto fast_until = std::chrono::steady_clock::now() + 1s;
  asio::steady_timer poll(ioc_);
  bool socket_seen = false;
  std::optional<boost::system::error_code> connect_result;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  std::function<void()> check;
  auto retry_soon = [&](bool listening_soon) {
    if (remaining() <= 0ms) {
      connect_result = make_error_code(qmp::error::timeout);
      return;
    }
    poll.expires_after(listening_soon                                  ? 200us
                       : std::chrono::steady_clock::now() < fast_until ? 1000us
                                                                       : 5000us);
    poll.async_wait([&](boost::system::error_code ec) {
      if (!ec) check();
    });
  };
  check = [&] {
    if (!fs::exists(socket)) return retry_soon(false);
    socket_seen = true;
    qmp_ = std::make_unique<qmp::client>(ioc_);
    qmp_->async_connect(
        socket.string(), std::max(remaining(), 1ms), [&](boost::system::error_code ec) {
          // The socket file exists a moment before qemu listens on it.
          if (ec == boost::asio::error::connection_refused || ec == boost::asio::error::not_found ||
              ec == boost::system::errc::no_such_file_or_directory)
            return retry_soon(true);
          connect_result = ec;
        });
  };
  // The connect and timer completions refer to this frame. On every way out that leaves the
  // connect pending (qemu died first, a timeout, a throw) it is aborted and its completion run
  // here: left for cleanup()'s poll it wrote into a dead frame (UBSan, about 1 start in 6 when
  // qemu fails right after a helper started).
  struct AbortPendingConnect {
    Supervisor& self;
    asio::steady_timer& poll;
    std::optional<boost::system::error_code>& result;
    ~AbortPendingConnect() {
      poll.cancel();
      if (result || !self.qmp_) return;
      self.qmp_->close();  // completes the connect with error::cancelled (posted)
      try {
        self.ioc_.restart();
        for (int i = 0; i < 1000 && !result; ++i)
          if (self.ioc_.poll_one() == 0) break;
      } catch (...) {  // a destructor: the error that brought us here is the one to report
      }
    }
  } abort_pending{*this, poll, connect_result};
  check();
  ioc_.restart();
  // Until qemu answers or exits: an exit ends the wait even while something it started still
  // holds its output open.
  while (!connect_result && qemu_->running()) {
    if (ioc_.run_one() == 0) break;
  }
  poll.cancel();
  if (connect_result && !*connect_result) return;
  if (!qemu_->running() || (connect_result && *connect_result == qmp::error::disconnected)) {
    // Let the child's exit and last output arrive before reporting it.
    const auto grace = std::chrono::steady_clock::now() + 2s;
    ioc_.restart();
    while (!qemu_->finished() && std::chrono::steady_clock::now() < grace)
      ioc_.run_one_for(std::chrono::milliseconds(50));
    if (!qemu_->running()) throw_start_failure();
  }
  const std::string why = connect_result && qmp_ ? qmp_->error_detail() : "";
  qemu_->signal(SIGKILL);
  throw Error(ExitCode::timeout, "qemu did not " + std::string(socket_seen ? "answer on" : "open") +
                                     " its QMP monitor within " +
                                     format_seconds(opts_.start_timeout) +
                                     (why.empty() ? "" : " (" + why + ")") + "; its output is in " +
                                     runtime_.qemu_log(profile_.name).string() +
                                     " until cleanup, see the lines above");
}

void Supervisor::throw_start_failure() {
  const auto lines = qemu_->last_lines();
  std::string msg = "qemu exited while starting (" + describe_status(qemu_->exit_status()) + ")";
  const std::size_t first = lines.size() > 6 ? lines.size() - 6 : 0;
  if (lines.empty()) msg += " and printed nothing";
  for (std::size_t i = first; i < lines.size(); ++i) msg += "\n  | " + lines[i];
  const auto hint = hint_for_qemu_failure(lines, [this](int group) {
    return describe_holders(find_node_holders(opts_.host.vfio_node(group), opts_.host.proc));
  });
  if (hint) msg += "\nhint: " + *hint;
  throw Error(ExitCode::qemu_start, msg);
}

int Supervisor::supervise(std::chrono::milliseconds stop_timeout) {
  if (!qemu_) throw Error(ExitCode::failure, "supervise() before start()");
  asio::signal_set signals(ioc_, SIGINT, SIGTERM, SIGHUP);
  int interrupts = 0;
  std::function<void(boost::system::error_code, int)> on_signal = [&](auto ec, int sig) {
    if (ec) return;
    ++interrupts;
    if (interrupts == 1) {
      std::cerr << "mdevrun: stopping " << profile_.name
                << " (guest powerdown; interrupt again to force)\n";
      begin_stop(stop_timeout, false);
    } else if (sig == SIGINT) {
      std::cerr << "mdevrun: forcing " << profile_.name << " to stop\n";
      begin_stop(opts_.escalate_after, true);
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  run_until_qemu_exits();
  if (!stopping_) notify("STOPPING=1\nSTATUS=qemu exited; cleaning up " + profile_.name);
  finish_clients();
  signals.cancel();
  const int status = qemu_->exit_status();
  cleanup();
  if (!cleanup_errors_.empty()) return static_cast<int>(ExitCode::mdev);
  // The last line of a foreground run says how it ended: under systemd it is the journal's.
  if (stopped_by_us_) {
    std::cerr << "mdevrun: stopped " << profile_.name << ": "
              << (stop_ ? stop_->outcome() : std::string("powered down")) << "; cleaned up\n";
    return 0;
  }
  if (status == 0) {
    std::cerr << "mdevrun: " << profile_.name << "'s guest powered off; cleaned up\n";
    return 0;
  }
  std::cerr << "mdevrun: qemu " << describe_status(status) << "; cleaned up\n";
  return static_cast<int>(ExitCode::failure);
}

void Supervisor::run_until_qemu_exits() {
  ioc_.restart();
  while (qemu_ && !qemu_->finished()) {
    if (ioc_.run_one() == 0) break;
  }
}

void Supervisor::stop(std::chrono::milliseconds timeout, bool force) {
  if (qemu_ && qemu_->running()) {
    begin_stop(timeout, force);
    run_until_qemu_exits();
    finish_clients();
  }
  cleanup();
}

void Supervisor::begin_stop(std::chrono::milliseconds timeout, bool force) {
  stopped_by_us_ = true;
  if (stopping_ && !force) return;
  // The guest already powered off and the exit watchdog runs: nothing to send a guest now.
  if (!force && stop_ && stop_->guest_down()) return;
  stopping_ = true;
  notify("STOPPING=1\nSTATUS=stopping " + profile_.name + (force ? " (forced)" : ""));
  stop_ = StopSequence({timeout, opts_.escalate_after, force});
  take_stop_step();
}

// Takes the sequence's step (skipping monitor steps without a monitor) and arms the timer for
// the next one; qemu's exit ends run_until_qemu_exits() and cleanup() cancels the timer.
void Supervisor::take_stop_step() {
  if (!qemu_ || !qemu_->running() || !stop_) return;
  // A step the monitor refused or never answered is worth a line: the sequence goes on to the
  // next step either way, and the log says why a stop ended in a signal.
  const auto stop_step_logger = [this](const char* command) {
    return [this, command](boost::system::error_code ec, qmp::reply r) {
      if (ec == qmp::error::disconnected || ec == qmp::error::cancelled) return;  // qemu left
      if (ec)
        log(std::string("stop: ") + command + " got no answer: " + ec.message());
      else if (r.error)
        log(std::string("stop: qemu refused ") + command + ": " + r.error->to_string());
    };
  };
  const bool monitor = qmp_ && qmp_->is_connected();
  while (stop_->needs_monitor() && !monitor) {
    log("stop: no monitor connection, skipping a monitor step");
    if (!stop_->skip()) return;
  }
  log(std::string("stop: ") + step_name(stop_->step()));
  switch (stop_->step()) {
    case StopStep::powerdown:
      qmp_->async_execute("system_powerdown", nullptr, stop_step_logger("system_powerdown"));
      break;
    case StopStep::quit:
      qmp_->async_execute("quit", nullptr, stop_step_logger("quit"));
      break;
    case StopStep::terminate:
      qemu_->signal(SIGTERM);
      break;
    case StopStep::kill:
      qemu_->signal(SIGKILL);
      break;
  }
  stop_timer_.expires_after(stop_->wait());
  stop_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && stop_->advance()) take_stop_step();
  });
}

void Supervisor::cleanup() noexcept {
  if (cleaned_) return;
  cleaned_ = true;
  try {
    stop_timer_.cancel();
    if (mux_) mux_->close();
    if (serial_) serial_->close();
    if (qmp_) qmp_->close();
    // Let the handlers the closes aborted run while what they refer to still exists.
    ioc_.restart();
    ioc_.poll();
    mux_.reset();
    shutdown_events_.reset();
    serial_.reset();
    stop_waiters_.clear();
    qmp_.reset();
    qemu_.reset();    // kills and reaps a qemu that still runs: remove would block on it
    helpers_.stop();  // after qemu: it would see its TPM or its shares vanish
    const fs::path state_file = runtime_.state_file(profile_.name);
    std::optional<InstanceState> state;
    try {
      state = load_state(state_file);
    } catch (const Error&) {
      // Damaged: the journal says what this run owns.
    }
    ensured_.locks.clear();
    journal_.reset();
    crash_point("cleanup: qemu gone");
    const UndoOutcome undo =
        undo_instance_changes(opts_.host, runtime_, profile_.name,
                              state ? state->mdevs : std::vector<MdevRecord>{}, opts_.remove);
    // Held through the undo: no other launcher takes a slice while it is being put back.
    slices_.locks.clear();
    for (const auto& line : undo.notes) std::cerr << "mdevrun: note: " << line << "\n";
    if (undo.failure) {
      // The folder (journal and state) stays as the record: `list` and `stop` retry and report.
      cleanup_errors_.push_back(undo.failure->what());
      std::cerr << "mdevrun: " << undo.failure->what() << "; "
                << runtime_.instance_dir(profile_.name).string()
                << " keeps the record: `mdevrun list` retries\n";
    } else {
      crash_point("cleanup: undone, folder kept");
      runtime_.remove_instance_dir(profile_.name);
      crash_point("cleanup: folder removed, instance lock held");
    }
  } catch (const std::exception& e) {
    cleanup_errors_.push_back(e.what());
    std::cerr << "mdevrun: cleanup of " << profile_.name << " failed: " << e.what() << "\n";
  }
  instance_lock_.reset();
}

}  // namespace mdevrun

#include "instance/instance_registry.hpp"

#include <algorithm>
#include <csignal>
#include <thread>

#include "base/error.hpp"
#include "devices/mdev_remove.hpp"
#include "instance/instance_undo.hpp"
#include "os/file_lock.hpp"
#include "os/private_path.hpp"
#include "os/sysfs_write.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

// A process that exits while we read its cmdline fails the read with ESRCH: that is "gone", so
// an unreadable cmdline reads as empty (std::istreambuf_iterator would throw instead).
std::string read_cmdline(const Host& host, pid_t pid) {
  return read_sysfs(host.proc / std::to_string(pid) / "cmdline").value_or("");
}

// A process in the middle of execve shows an empty cmdline for a moment (the new image's
// arguments are not set up yet, and spawn() returns once the exec began). True for a pid that
// exists and is not a zombie: worth reading again.
bool may_be_exec_in_progress(const Host& host, pid_t pid) {
  const auto stat = read_sysfs(host.proc / std::to_string(pid) / "stat");
  if (!stat) return false;
  const auto paren = stat->rfind(')');  // "pid (comm) S ...": comm may contain anything
  if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
  const char state = (*stat)[paren + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

// A pid can be reused: only a process whose argv names this instance's monitor is its qemu.
// An empty cmdline of a live process is read again (bounded): a stop that raced a start took a
// qemu between two execs (a wrapper script exec'ing qemu) for gone and then waited 30 s for a
// supervisor that was still starting it. Only for a pid we were told (a scan of /proc would wait
// on every kernel thread, whose cmdline is always empty).
bool is_instance_qemu(const Host& host, pid_t pid, const fs::path& qmp_socket,
                      bool recorded_pid = true) {
  for (int attempt = 0; attempt < (recorded_pid ? 100 : 1); ++attempt) {
    const std::string cmdline = read_cmdline(host, pid);
    if (!cmdline.empty()) return cmdline.find(qmp_socket.string()) != std::string::npos;
    if (!may_be_exec_in_progress(host, pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

void kill_and_wait(const Host& host, pid_t pid, const fs::path& qmp_socket) {
  if (!is_instance_qemu(host, pid, qmp_socket)) return;
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 500 && is_instance_qemu(host, pid, qmp_socket); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

std::string instance_name_from_arg(const std::string& arg) {
  const bool is_path = arg.find('/') != std::string::npos ||
                       (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0);
  if (!is_path) {
    check_instance_name(arg);
    return arg;
  }
  return load_profile(arg).name;
}

std::optional<pid_t> instance_qemu_pid(const Host& host, const std::string& name,
                                       const InstanceState* state) {
  const fs::path socket = RuntimeDir::of(host).qmp_socket(name);
  if (state && state->qemu_pid) {
    if (is_instance_qemu(host, *state->qemu_pid, socket)) return state->qemu_pid;
    return std::nullopt;
  }
  std::error_code ec;
  for (fs::directory_iterator it(host.proc, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (entry.empty() || entry.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(entry);
    if (pid != ::getpid() && is_instance_qemu(host, pid, socket, false)) return pid;
  }
  return std::nullopt;
}

bool instance_qemu_alive(const Host& host, const InstanceState& state) {
  return state.qemu_pid &&
         is_instance_qemu(host, *state.qemu_pid, RuntimeDir::of(host).qmp_socket(state.name));
}

bool instance_running(const Host& host, const std::string& name) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  if (!fs::exists(runtime.locks_dir())) return false;
  auto lock = FileLock::try_lock(runtime.instance_lock(name));
  return !lock.has_value();
}

std::optional<std::string> clean_stale_instance_locked(const Host& host, const std::string& name) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  if (!fs::exists(runtime.instance_dir(name))) return std::nullopt;
  // A folder someone else made or can write is not ours to act on: refuse, touch nothing.
  require_private(runtime.instance_dir(name), PathKind::directory);
  std::string what = "cleaned up instance " + name + " left behind by a supervisor that died";
  std::optional<InstanceState> state;
  try {
    state = load_state(runtime.state_file(name));
  } catch (const Error& e) {
    if (e.code() == ExitCode::permission) throw;
    // Damaged or half-written: qemu is found by its argv, the journal says what is owned.
    what += " (its state file was damaged)";
  }
  if (state && state->supervisor_pid)
    what += " (pid " + std::to_string(*state->supervisor_pid) + ")";
  if (auto qemu = instance_qemu_pid(host, name, state ? &*state : nullptr))
    kill_and_wait(host, *qemu, runtime.qmp_socket(name));
  const UndoOutcome undo =
      undo_instance_changes(host, runtime, name, state ? state->mdevs : std::vector<MdevRecord>{});
  for (const auto& line : undo.restored) what += "; " + line;
  for (const auto& uuid : undo.removed) what += "; removed mdev " + uuid;
  for (const auto& line : undo.notes) what += "; " + line;
  if (undo.failure)
    throw Error(undo.failure->code(), "instance " + name + ": " + undo.failure->what() + "; " +
                                          runtime.instance_dir(name).string() +
                                          " keeps the record: `mdevrun list` retries");
  runtime.remove_instance_dir(name);
  return what;
}

namespace {

// A process that has exited (or is a zombie) is not holding anything of its own any more.
bool process_gone(const Host& host, pid_t pid) {
  const std::string stat = read_sysfs(host.proc / std::to_string(pid) / "stat").value_or("");
  if (stat.empty()) return true;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// The instance lock, or none while a live supervisor holds it. A lock whose recorded holder is
// gone but which is still held was inherited by a child the supervisor forked (a bounded sysfs
// writer, a qemu between fork and exec) and is on its way out with it: waited for briefly, so a
// killed supervisor is not taken for a live one by the `list` right after the kill.
std::optional<FileLock> take_instance_lock(const Host& host, const fs::path& path) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  std::optional<pid_t> holder;
  auto lock = FileLock::try_lock(path, &holder);
  while (!lock && holder && process_gone(host, *holder) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    lock = FileLock::try_lock(path, &holder);
  }
  return lock;
}

}  // namespace

std::optional<std::string> clean_stale_instance(const Host& host, const std::string& name) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  if (!fs::exists(runtime.instance_dir(name))) return std::nullopt;
  runtime.ensure_locks_dir();
  auto lock = take_instance_lock(host, runtime.instance_lock(name));
  if (!lock) return std::nullopt;  // alive
  return clean_stale_instance_locked(host, name);
}

namespace {

// An instance lock file whose instance folder is gone and that no one holds: a supervisor was
// killed after taking it and before making its folder, or after removing the folder and before
// dropping it. Nothing else records it, so the walk over the runtime directory removes it.
void remove_orphan_instance_locks(const RuntimeDir& runtime) {
  std::error_code ec;
  for (fs::directory_iterator it(runtime.locks_dir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string file = it->path().filename().string();
    constexpr std::string_view prefix = "instance-", suffix = ".lock";
    if (!file.starts_with(prefix) || !file.ends_with(suffix)) continue;
    const std::string name =
        file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    if (fs::exists(runtime.instance_dir(name), ec)) continue;
    try {
      // Held (a start between its lock and its folder): left alone. Not held: taking and
      // dropping it unlinks it (a start racing this retries its lock briefly, see Supervisor).
      FileLock::try_lock(it->path());
    } catch (const Error&) {
    }
  }
}

}  // namespace

InstanceListing list_instances(const Host& host) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  InstanceListing listing;
  remove_orphan_instance_locks(runtime);
  // One instance's damage (a failed removal, an unreadable state) never hides the others.
  for (const auto& name : runtime.list_instances()) {
    try {
      if (auto cleaned = clean_stale_instance(host, name)) {
        listing.cleaned.push_back(std::move(*cleaned));
        continue;
      }
      if (auto state = load_state(runtime.state_file(name)))  // none: starting right now
        listing.running.push_back(std::move(*state));
    } catch (const Error& e) {
      listing.failures.push_back(e);
      if (instance_running(host, name)) {
        InstanceState known;  // alive but unreadable: listed with what is known
        known.name = name;
        listing.running.push_back(std::move(known));
      }
    }
  }
  return listing;
}

InstanceState running_instance_state(const Host& host, const std::string& name) {
  const RuntimeDir runtime = RuntimeDir::of(host);
  if (auto cleaned = clean_stale_instance(host, name))
    throw Error(ExitCode::not_found, "instance " + name + " is not running; " + *cleaned);
  // Not stale: the folder is either absent or held by a live supervisor, so no second lock probe.
  const std::optional<InstanceState> state = load_state(runtime.state_file(name));
  if (!state)
    throw Error(ExitCode::not_found,
                "no instance " + name + " is running; `mdevrun list` shows the running ones");
  return *state;
}

std::vector<std::string> running_instance_names(const Host& host) {
  std::vector<std::string> names;
  if (!host.runtime) return names;
  const RuntimeDir runtime = RuntimeDir::of(host);
  std::error_code ec;
  if (!fs::is_directory(runtime.locks_dir(), ec)) return names;
  for (const auto& name : runtime.list_instances())
    if (instance_running(host, name)) names.push_back(name);
  return names;
}

std::vector<ListedVm> join_defined_and_running(const std::vector<NamedProfile>& defined,
                                               const std::vector<InstanceState>& running) {
  auto same_file = [](const fs::path& a, const fs::path& b) {
    std::error_code ec;
    return !a.empty() && !b.empty() && fs::equivalent(a, b, ec) && !ec;
  };
  std::vector<ListedVm> rows;
  std::vector<bool> matched(running.size(), false);
  for (const auto& d : defined) {
    ListedVm row{d.name, d, std::nullopt};
    for (std::size_t i = 0; i < running.size(); ++i)
      if (!matched[i] && same_file(d.file, running[i].profile)) {
        row.running = running[i];
        matched[i] = true;
        break;
      }
    rows.push_back(std::move(row));
  }
  for (std::size_t i = 0; i < running.size(); ++i)
    if (!matched[i]) rows.push_back({running[i].name, std::nullopt, running[i]});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const ListedVm& a, const ListedVm& b) { return a.name < b.name; });
  return rows;
}

}  // namespace mdevrun

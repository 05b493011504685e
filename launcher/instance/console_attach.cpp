#include "instance/console_attach.hpp"

#include <system_error>

#include "base/error.hpp"
#include "instance/console_holder.hpp"
#include "os/unix_socket.hpp"
#include "profile/profile_choices.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Where a running instance's serial goes, when it is not served by its supervisor.
Profile profile_of(const RunningInstance& r) {
  try {
    return load_profile(r.state.profile);
  } catch (const Error& e) {
    throw Error(ExitCode::not_found,
                r.state.name + ": cannot tell where its serial console goes: " + e.what() +
                    "; `mdevrun logs --qemu " + r.state.name + "` shows qemu's own log");
  }
}

std::string elsewhere(const RunningInstance& r, SerialMode mode) {
  const std::string& n = r.state.name;
  switch (mode) {
    case SerialMode::stdio:
      return "serial mode stdio: it is in qemu's log, `mdevrun logs --qemu " + n + "`";
    case SerialMode::file:
      return "serial mode file: `mdevrun logs -f " + n + "` follows it";
    default:
      return "serial mode " + to_string(mode);
  }
}

}  // namespace

ConsoleSession open_console_socket(const std::string& name, const fs::path& socket,
                                   std::optional<pid_t> supervisor_pid) {
  const std::string pid = supervisor_pid ? " (pid " + std::to_string(*supervisor_pid) + ")" : "";
  ConsoleSession s{name, {}};
  std::string line;
  try {
    s.socket = connect_unix(socket);
    line = read_line(s.socket.get(), 512, std::chrono::steady_clock::now() + 10s);
  } catch (const std::system_error& e) {
    const bool late = e.code().value() == ETIMEDOUT;
    throw Error(late ? ExitCode::timeout : ExitCode::connect,
                "the supervisor of " + name + pid + " does not serve its console on " +
                    socket.string() + " (" + e.code().message() +
                    "); if it died, `mdevrun list` cleans up");
  }
  const auto hs = parse_console_handshake(line);
  if (!hs)
    throw Error(ExitCode::protocol, socket.string() + " is not a console socket (it said \"" +
                                        line.substr(0, 80) + "\")");
  if (!hs->admitted)
    throw Error(ExitCode::busy, name + "'s serial console is held by " + hs->held_by +
                                    "; one client at a time: leave it there with Ctrl-], or "
                                    "read along with `mdevrun logs -f " +
                                    name + "`");
  return s;
}

ConsoleSession open_console(const Host& host, const std::string& name_or_profile) {
  const RunningInstance r = find_running_instance(host, name_or_profile);
  const auto it = r.state.sockets.find("console");
  if (it == r.state.sockets.end())
    throw Error(ExitCode::not_found, r.state.name +
                                         ": the guest's serial is not served as a console (" +
                                         elsewhere(r, profile_of(r).serial.mode) +
                                         "); set \"serial\": \"console\" (the default) in " +
                                         r.state.profile.string() + " and restart it");
  return open_console_socket(r.state.name, it->second, r.state.supervisor_pid);
}

fs::path serial_log_of(const RunningInstance& r) {
  if (r.state.sockets.count("console")) return r.runtime.serial_log(r.state.name);
  const Profile p = profile_of(r);
  if (p.serial.mode == SerialMode::file) return p.serial.path;
  if (p.serial.mode == SerialMode::console) return r.runtime.serial_log(r.state.name);
  throw Error(ExitCode::not_found,
              r.state.name + ": the guest's serial console is not written to a file (" +
                  elsewhere(r, p.serial.mode) + "); set \"serial\": \"console\" (the default) or " +
                  "{\"mode\": \"file\", \"path\": ...} in " + r.state.profile.string());
}

}  // namespace mdevrun

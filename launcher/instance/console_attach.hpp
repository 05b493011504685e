#pragma once
// The client side of an instance's serial console (`mdevrun console`, and a foreground `start`
// that attaches its own terminal), and where a running instance's serial log is (`mdevrun logs`).
// Connecting reads the supervisor's first line (instance/console_holder): the caller then holds
// the console and relays bytes on `socket` (os/console_relay) until it closes it.
//
// Blocking; one thread per session. Errors: mdevrun::Error, as each function says.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "instance/instance_monitor.hpp"
#include "os/host.hpp"
#include "os/unique_fd.hpp"

namespace mdevrun {

struct ConsoleSession {
  std::string name;
  UniqueFd socket;  ///< connected, handshake read: raw guest bytes from here on
};

/// Takes the console of the running instance `name_or_profile`. Throws Error(not_found) when it
/// does not run or its serial is not served (the message says where it goes), Error(busy) when
/// another client holds it (naming its pid and program), Error(connect/timeout) when the
/// supervisor does not answer.
ConsoleSession open_console(const Host& host, const std::string& name_or_profile);

/// The same on a known socket (the foreground start's own instance).
ConsoleSession open_console_socket(const std::string& name, const std::filesystem::path& socket,
                                   std::optional<pid_t> supervisor_pid = std::nullopt);

/// The guest's serial log of a running instance: serial.log in its runtime folder (console mode)
/// or the profile's file (file mode). Throws Error(not_found) for the other modes, saying where
/// the console goes and what to set.
std::filesystem::path serial_log_of(const RunningInstance& instance);

}  // namespace mdevrun

#pragma once
// The one error type of launcher_core: a one-line message for the user plus the exit code the CLI
// returns for it. Every failure a user can cause or meet is an Error; anything else is a bug.

#include <stdexcept>
#include <string>

namespace mdevrun {

/// Exit codes of the mdevrun program. The numbers are part of the CLI contract (README, scripts).
enum class ExitCode : int {
  ok = 0,
  failure = 1,          ///< runtime failure not covered below
  usage = 2,            ///< bad command line or bad profile; nothing was touched
  mdev = 3,             ///< mediated device missing, exhausted, or create/remove failed
  qemu_start = 4,       ///< qemu exited or failed while starting
  timeout = 5,          ///< an operation did not finish within its bound
  qmp_error = 6,        ///< qemu answered a QMP command with an error reply
  connect = 7,          ///< cannot connect to a QMP socket or the instance is not running
  protocol = 8,         ///< the QMP peer broke the protocol
  unplug_rejected = 9,  ///< the guest refused a hot-unplug (DEVICE_UNPLUG_GUEST_ERROR)
  unplug_pending = 10,  ///< hot-unplug requested; the guest did not finish it within the timeout
  busy = 11,            ///< the instance or mdev is already in use by another launcher or process
  not_found = 12,       ///< no such instance or device
  permission = 13,      ///< the user may not do this (sysfs write, /dev/vfio access); run as root
};

/// Every exit code, in order, with what it means in a few words: the man page's EXIT STATUS is
/// generated from this list (and the README's table is checked against it).
struct ExitCodeMeaning {
  ExitCode code;
  const char* meaning;
};
inline constexpr ExitCodeMeaning kExitCodes[] = {
    {ExitCode::ok, "success"},
    {ExitCode::failure, "runtime failure not covered below (check: a check failed)"},
    {ExitCode::usage, "bad command line or bad profile; nothing was touched"},
    {ExitCode::mdev, "mediated device missing, exhausted, or create/remove failed"},
    {ExitCode::qemu_start, "qemu exited or failed while starting"},
    {ExitCode::timeout, "an operation did not finish within its bound"},
    {ExitCode::qmp_error, "qemu answered a QMP command with an error"},
    {ExitCode::connect, "cannot connect to a QMP socket, or the instance is not running"},
    {ExitCode::protocol, "the QMP peer broke the protocol"},
    {ExitCode::unplug_rejected, "the guest refused a hot-unplug"},
    {ExitCode::unplug_pending, "hot-unplug requested; the guest did not finish it in time"},
    {ExitCode::busy, "in use by another launcher or process (console: held by another client)"},
    {ExitCode::not_found, "no such instance, device or profile"},
    {ExitCode::permission, "permission denied (sysfs write, /dev/vfio access)"},
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

}  // namespace mdevrun

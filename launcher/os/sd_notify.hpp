#pragma once
// The service manager's readiness protocol (sd_notify(3)) without libsystemd: one datagram of
// newline-separated assignments ("READY=1\nSTATUS=running") to the AF_UNIX socket systemd names
// in $NOTIFY_SOCKET for a Type=notify service. A name starting with '@' is in the abstract
// namespace (the '@' becomes a leading NUL byte); otherwise it must be an absolute path. Host
// reads $NOTIFY_SOCKET (Host::notify_socket), so tests point it at a socket they bound.
//
// Never throws, never blocks for long (a datagram to a local socket); thread-safe. Failing to
// notify is not an error of mdevrun's: the caller carries on (systemd then times the start out).

#include <string>
#include <string_view>

namespace mdevrun {

/// Sends `state` to `socket` ("@abstract-name" or "/absolute/path"). Returns false, with errno
/// set, when `socket` is empty, malformed, too long for sockaddr_un, or the send failed.
bool sd_notify_to(const std::string& socket, std::string_view state);

}  // namespace mdevrun

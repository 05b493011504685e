#pragma once
// Unix stream sockets from the client side, and who is on the other end of one: what the serial
// console needs besides Asio (which serves the sockets) — connecting from a blocking command,
// reading its first line, and naming a peer by its credentials (SO_PEERCRED).
//
// Blocking; no shared state (use from any thread). Errors: connect_unix and read_line throw
// std::system_error with the errno; socket_peer returns none when the kernel does not say.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "os/unique_fd.hpp"

namespace mdevrun {

/// A connected SOCK_STREAM descriptor (close-on-exec) to the socket file `path`.
UniqueFd connect_unix(const std::filesystem::path& path);

/// Reads one byte at a time up to and including '\n' (so nothing after it is consumed), at most
/// `max` bytes, until `deadline`. Returns what was read, without the '\n'; shorter when the peer
/// closed first. Throws std::system_error (ETIMEDOUT when the deadline passed).
std::string read_line(int fd, std::size_t max, std::chrono::steady_clock::time_point deadline);

struct SocketPeer {
  pid_t pid = 0;
  std::string comm;  ///< <proc_root>/PID/comm, empty when it cannot be read
};

/// The process that connected `fd` (SO_PEERCRED: the pid at connect time).
std::optional<SocketPeer> socket_peer(int fd, const std::filesystem::path& proc_root);

}  // namespace mdevrun

#include "os/unix_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace mdevrun {

UniqueFd connect_unix(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    throw std::system_error(ENAMETOOLONG, std::generic_category(), path.string());
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    throw std::system_error(errno, std::generic_category(), path.string());
  }
  return fd;
}

std::string read_line(int fd, std::size_t max, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  while (line.size() < max) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::system_error(ETIMEDOUT, std::generic_category(), "read");
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "poll");
    if (r == 0) continue;
    char c;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
    if (n == 0 || c == '\n') break;
    line += c;
  }
  return line;
}

std::optional<SocketPeer> socket_peer(int fd, const std::filesystem::path& proc_root) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0)
    return std::nullopt;
  SocketPeer peer;
  peer.pid = cred.pid;
  std::ifstream comm(proc_root / std::to_string(cred.pid) / "comm");
  std::getline(comm, peer.comm);
  return peer;
}

}  // namespace mdevrun

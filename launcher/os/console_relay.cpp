#include "os/console_relay.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mdevrun {
namespace {

using Clock = std::chrono::steady_clock;

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

RelayEnd relay_console(int socket, int in, int out, const RelayOptions& o,
                       std::string_view first_output) {
  if (!write_all(out, first_output.data(), first_output.size())) return RelayEnd::output_closed;
  bool in_open = true;
  Clock::time_point in_ended{}, last_output{};
  char buf[16384];
  for (;;) {
    int timeout = -1;
    if (!in_open) {
      const auto now = Clock::now();
      const auto quiet_until = std::max(last_output, in_ended) + o.linger;
      const auto until = std::min(quiet_until, in_ended + o.linger_max);
      if (now >= until) return RelayEnd::input_closed;
      timeout = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1);
    }
    pollfd fds[2] = {{socket, POLLIN, 0}, {in, POLLIN, 0}};
    const int r = ::poll(fds, in_open ? 2 : 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return RelayEnd::peer_closed;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(socket, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return RelayEnd::peer_closed;
      if (!write_all(out, buf, static_cast<std::size_t>(n))) return RelayEnd::output_closed;
      last_output = Clock::now();
    }
    if (in_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t n = ::read(in, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        in_open = false;
        in_ended = Clock::now();
        continue;
      }
      std::size_t size = static_cast<std::size_t>(n);
      const char* esc =
          o.escape ? static_cast<const char*>(std::memchr(buf, *o.escape, size)) : nullptr;
      if (esc) size = static_cast<std::size_t>(esc - buf);
      if (!write_all(socket, buf, size)) return RelayEnd::peer_closed;
      if (esc) return RelayEnd::escape;
    }
  }
}

}  // namespace mdevrun

#include "os/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "os/unique_fd.hpp"

namespace mdevrun {

bool sd_notify_to(const std::string& socket, std::string_view state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // systemd also accepts "vsock:CID:PORT" (a VM's manager); mdevrun runs on the host, so only
  // the two AF_UNIX forms.
  if (socket.size() < 2 || (socket[0] != '@' && socket[0] != '/') ||
      socket.size() > sizeof(addr.sun_path) - (socket[0] == '/' ? 1 : 0)) {
    errno = EINVAL;
    return false;
  }
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());
  // An abstract name is exactly its bytes after the NUL: no terminator counted in the length.
  if (socket[0] == '@')
    addr.sun_path[0] = '\0';
  else
    len += 1;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  const ssize_t n = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace mdevrun

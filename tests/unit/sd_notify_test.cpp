// sd_notify_to against sockets the test binds: a path and an abstract name, as systemd gives.

#include "os/sd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "os/unique_fd.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

// Binds a datagram socket like systemd's notify socket; `name` as in $NOTIFY_SOCKET.
UniqueFd bind_notify_socket(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@') addr.sun_path[0] = '\0';
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
  return fd;
}

// Non-blocking: what was sent is queued by the time sendto returned.
std::string receive(const UniqueFd& fd) {
  char buf[512];
  const ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  return n < 0 ? "<nothing: " + std::string(std::strerror(errno)) + ">" : std::string(buf, n);
}

TEST(SdNotify, SendsOneDatagramToAPathSocket) {
  testing::TempDir dir("sd-notify");
  const std::string path = (dir.path() / "notify").string();
  const UniqueFd server = bind_notify_socket(path);
  ASSERT_TRUE(sd_notify_to(path, "READY=1\nSTATUS=vm is running"));
  EXPECT_EQ(receive(server), "READY=1\nSTATUS=vm is running");
  ASSERT_TRUE(sd_notify_to(path, "STOPPING=1"));
  EXPECT_EQ(receive(server), "STOPPING=1");
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  // Unique per run: abstract names are shared by the whole network namespace.
  const std::string name = "@mdevrun-sd-notify-test-" + std::to_string(::getpid());
  const UniqueFd server = bind_notify_socket(name);
  ASSERT_TRUE(sd_notify_to(name, "READY=1"));
  EXPECT_EQ(receive(server), "READY=1");
  // The name is exactly the bytes after '@': a NUL-terminated length would miss it.
  EXPECT_FALSE(sd_notify_to(name + "-other", "READY=1"));
}

TEST(SdNotify, RefusesWhatIsNoUnixSocketName) {
  EXPECT_FALSE(sd_notify_to("", "READY=1"));
  EXPECT_FALSE(sd_notify_to("relative/socket", "READY=1"));
  EXPECT_FALSE(sd_notify_to("vsock:2:1234", "READY=1"));
  EXPECT_FALSE(sd_notify_to("/" + std::string(200, 'x'), "READY=1"));
  EXPECT_FALSE(sd_notify_to("/nonexistent/mdevrun-notify", "READY=1"));
}

}  // namespace
}  // namespace mdevrun

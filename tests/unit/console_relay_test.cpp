// The console byte pump on a socketpair and pipes: what is typed reaches the socket, Ctrl-] ends
// it without being forwarded, the peer closing ends it, and a closed stdin still lets the answer
// through before the quiet period ends it.
#include "os/console_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "os/unique_fd.hpp"

namespace mdevrun {
namespace {
using namespace std::chrono_literals;

struct Ends {
  UniqueFd sock_ours, sock_peer, in_read, in_write, out_read, out_write;
  Ends() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sock_ours.reset(sv[0]);
    sock_peer.reset(sv[1]);
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    in_read.reset(p[0]);
    in_write.reset(p[1]);
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    out_read.reset(p[0]);
    out_write.reset(p[1]);
  }
};

void put(const UniqueFd& fd, const std::string& s) {
  ASSERT_EQ(::write(fd.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

std::string drain(const UniqueFd& fd, std::chrono::milliseconds bound = 200ms) {
  std::string out;
  char buf[4096];
  pollfd p{fd.get(), POLLIN, 0};
  while (::poll(&p, 1, static_cast<int>(bound.count())) > 0) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

TEST(ConsoleRelay, CtrlRightBracketLeavesAndIsNotForwarded) {
  Ends e;
  put(e.in_write, std::string("ls\r") + '\x1d' + "after");
  put(e.sock_peer, "guest says hi");
  const RelayEnd end = relay_console(e.sock_ours.get(), e.in_read.get(), e.out_write.get(), {});
  EXPECT_EQ(end, RelayEnd::escape);
  EXPECT_EQ(drain(e.sock_peer), "ls\r");
}

TEST(ConsoleRelay, PeerClosingEndsItAfterItsLastBytes) {
  Ends e;
  put(e.sock_peer, "last words");
  e.sock_peer.reset();
  const RelayEnd end =
      relay_console(e.sock_ours.get(), e.in_read.get(), e.out_write.get(), {}, "first ");
  EXPECT_EQ(end, RelayEnd::peer_closed);
  EXPECT_EQ(drain(e.out_read), "first last words");
}

TEST(ConsoleRelay, ClosedStdinStillWaitsForTheAnswer) {
  Ends e;
  put(e.in_write, "echo 42\n");
  e.in_write.reset();
  // The "guest" answers 300 ms after the input ended, then goes quiet.
  std::thread guest([&] {
    std::this_thread::sleep_for(300ms);
    put(e.sock_peer, "42\n");
  });
  RelayOptions o;
  o.linger = 600ms;
  const auto t0 = std::chrono::steady_clock::now();
  const RelayEnd end = relay_console(e.sock_ours.get(), e.in_read.get(), e.out_write.get(), o);
  guest.join();
  EXPECT_EQ(end, RelayEnd::input_closed);
  EXPECT_EQ(drain(e.out_read), "42\n");
  EXPECT_EQ(drain(e.sock_peer), "echo 42\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(ConsoleRelay, LingerMaxBoundsAChattyGuest) {
  Ends e;
  e.in_write.reset();
  std::atomic<bool> go{true};
  std::thread guest([&] {
    while (go) {
      if (::write(e.sock_peer.get(), "x", 1) < 0) break;
      std::this_thread::sleep_for(20ms);
    }
  });
  RelayOptions o;
  o.linger = 200ms;
  o.linger_max = 500ms;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(relay_console(e.sock_ours.get(), e.in_read.get(), e.out_write.get(), o),
            RelayEnd::input_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  go = false;
  guest.join();
}

}  // namespace
}  // namespace mdevrun

// The supervisor's serial console server against a stand-in qemu (a client on serial.sock) and
// raw console clients: guest output reaches serial.log and the holder, typing reaches qemu, a
// second client is refused with the holder's pid, and the console is free again once it leaves.
#include "instance/serial_console.hpp"

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "os/unix_socket.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_for(const UniqueFd& fd, const std::string& want,
                     std::chrono::milliseconds bound = 5s) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  char buf[4096];
  while (got.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

void put(const UniqueFd& fd, const std::string& s) {
  ASSERT_EQ(::write(fd.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

std::string file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class SerialConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SerialConsole::Options o;
    o.serial_socket = tmp_.path() / "serial.sock";
    o.console_socket = tmp_.path() / "console.sock";
    o.log_file = tmp_.path() / "serial.log";
    console_ = std::make_unique<SerialConsole>(ioc_, o);
    io_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    std::promise<void> closed;
    boost::asio::post(ioc_, [&] {
      console_->close();
      closed.set_value();
    });
    closed.get_future().wait();
    work_.reset();
    io_.join();
    EXPECT_FALSE(fs::exists(tmp_.path() / "serial.sock"));
    EXPECT_FALSE(fs::exists(tmp_.path() / "console.sock"));
  }

  testing::TempDir tmp_{"mdevrun-serial-console"};
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      ioc_.get_executor()};
  std::unique_ptr<SerialConsole> console_;
  std::thread io_;
};

TEST_F(SerialConsoleTest, GuestOutputIsLoggedAndServedToOneHolder) {
  UniqueFd qemu = connect_unix(tmp_.path() / "serial.sock");
  put(qemu, "early boot line\n");  // before anyone attached: only the log has it
  for (int i = 0; i < 250 && file(tmp_.path() / "serial.log").empty(); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(file(tmp_.path() / "serial.log"), "early boot line\n");

  UniqueFd a = connect_unix(tmp_.path() / "console.sock");
  EXPECT_EQ(read_line(a.get(), 512, std::chrono::steady_clock::now() + 5s), "mdevrun-console ok");
  put(qemu, "login: ");
  EXPECT_EQ(read_for(a, "login: "), "login: ");
  put(a, "root\r");
  EXPECT_EQ(read_for(qemu, "root\r"), "root\r");

  UniqueFd b = connect_unix(tmp_.path() / "console.sock");
  const std::string refused = read_line(b.get(), 512, std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(refused.rfind("mdevrun-console busy " + std::to_string(::getpid()) + " ", 0), 0u)
      << refused;
  EXPECT_EQ(read_for(b, "never", 2s), "") << "a refused client is disconnected";

  a.reset();  // the holder leaves: the next client gets the console
  std::string line;
  for (int i = 0; i < 100; ++i) {
    UniqueFd c = connect_unix(tmp_.path() / "console.sock");
    line = read_line(c.get(), 512, std::chrono::steady_clock::now() + 5s);
    if (line == "mdevrun-console ok") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(line, "mdevrun-console ok");
  EXPECT_EQ(file(tmp_.path() / "serial.log"), "early boot line\nlogin: ");
}

}  // namespace
}  // namespace mdevrun

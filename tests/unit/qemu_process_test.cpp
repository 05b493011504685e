#include "qemu/qemu_process.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "base/error.hpp"

#include "temp_dir.hpp"

namespace mdevrun {
namespace fs = std::filesystem;

class QemuProcessTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"mdevrun-qp"};
  const fs::path dir_ = tmp_.path();
  boost::asio::io_context ioc_;
};

TEST_F(QemuProcessTest, CapturesOutputAndExitStatus) {
  QemuProcess p(ioc_, {"sh", "-c", "echo first; echo 'last words' >&2; exit 3"}, dir_ / "qemu.log",
                false);
  int status = -1;
  p.on_exit([&](int s) { status = s; });
  ioc_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(status, 3);
  EXPECT_FALSE(p.running());
  ASSERT_EQ(p.last_lines().size(), 2u);
  EXPECT_EQ(p.last_lines()[1], "last words");
  std::ifstream log(dir_ / "qemu.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_EQ(text.str(), "first\nlast words\n");
}

TEST_F(QemuProcessTest, SignalStopsTheChild) {
  QemuProcess p(ioc_, {"sleep", "30"}, dir_ / "qemu.log", false);
  int status = -1;
  p.on_exit([&](int s) { status = s; });
  p.signal(SIGTERM);
  ioc_.run_for(std::chrono::seconds(10));
  EXPECT_FALSE(p.running());
  EXPECT_NE(status, 0);
}

TEST_F(QemuProcessTest, MissingBinaryIsAStartError) {
  try {
    QemuProcess p(ioc_, {"no-such-qemu-binary"}, dir_ / "qemu.log", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::qemu_start);
  }
}

}  // namespace mdevrun

#include "cli/progress_line.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;

TEST(ProgressLine, AQuickWaitDrawsNothing) {
  std::ostringstream out;
  { ProgressLine line("stopping desk", out, 1s, 10ms); }
  EXPECT_EQ(out.str(), "");
}

TEST(ProgressLine, ALongWaitIsOneRedrawnLineErasedAtTheEnd) {
  std::ostringstream out;
  {
    ProgressLine line("stopping desk: waiting for the guest", out, 0ms, 5ms);
    std::this_thread::sleep_for(30ms);
    line.update("stopping desk: quit");
    std::this_thread::sleep_for(30ms);
  }
  const std::string s = out.str();
  EXPECT_EQ(s.find('\n'), std::string::npos) << "one line, redrawn in place: " << s;
  EXPECT_NE(s.find("\r\033[Kstopping desk: waiting for the guest... 0 s"), std::string::npos) << s;
  EXPECT_NE(s.find("stopping desk: quit... 0 s"), std::string::npos) << s;
  EXPECT_TRUE(s.ends_with("\r\033[K")) << "erased before the result prints: " << s;
}

}  // namespace
}  // namespace mdevrun::cli

#include "base/text.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

TEST(Text, TrimJoinLowerFormatSeconds) {
  EXPECT_EQ(trim(" \t1\n"), "1");
  EXPECT_EQ(trim("\n\n"), "");
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(join({"a", "b"}, " or "), "a or b");
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(lower("MdEv-1"), "mdev-1");
  EXPECT_EQ(format_seconds(std::chrono::milliseconds(10000)), "10 s");
  EXPECT_EQ(format_seconds(std::chrono::milliseconds(250)), "0.25 s");
}

}  // namespace
}  // namespace mdevrun

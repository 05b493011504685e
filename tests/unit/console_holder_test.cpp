#include "instance/console_holder.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

TEST(ConsoleHolder, OneHolderAtATimeAndTheSecondIsToldWho) {
  ConsoleHolder h;
  EXPECT_TRUE(h.try_take({1, 100, "mdevrun"}));
  EXPECT_TRUE(h.try_take({1, 100, "mdevrun"})) << "the holder asking again keeps it";
  EXPECT_FALSE(h.try_take({2, 200, "socat"}));
  ASSERT_TRUE(h.holder());
  EXPECT_EQ(h.holder()->pid, 100);
  h.release(2);  // not the holder: nothing changes
  EXPECT_FALSE(h.try_take({3, 300, "x"}));
  h.release(1);
  EXPECT_FALSE(h.holder());
  EXPECT_TRUE(h.try_take({2, 200, "socat"}));
}

TEST(ConsoleHandshake, LinesRoundTrip) {
  EXPECT_EQ(console_admitted_line(), "mdevrun-console ok\n");
  const auto ok = parse_console_handshake("mdevrun-console ok");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->admitted);

  const std::string busy = console_refused_line({7, 4242, "mdevrun"});
  EXPECT_EQ(busy, "mdevrun-console busy 4242 mdevrun\n");
  const auto refused = parse_console_handshake(busy.substr(0, busy.size() - 1));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->admitted);
  EXPECT_EQ(refused->held_by, "pid 4242 (mdevrun)");

  // A program name with a space stays one word; an unknown one is left out.
  EXPECT_EQ(console_refused_line({7, 5, "a b"}), "mdevrun-console busy 5 a_b\n");
  EXPECT_EQ(parse_console_handshake("mdevrun-console busy 5 ?")->held_by, "pid 5");
  EXPECT_EQ(parse_console_handshake("mdevrun-console busy 0 ?")->held_by, "an unknown process");
}

TEST(ConsoleHandshake, AnythingElseIsNotAConsole) {
  EXPECT_FALSE(parse_console_handshake(""));
  EXPECT_FALSE(parse_console_handshake(R"({"QMP": {"version": {}}})"));
  EXPECT_FALSE(parse_console_handshake("mdevrun-console busy x y"));
  EXPECT_FALSE(parse_console_handshake("mdevrun-console busy "));
}

}  // namespace
}  // namespace mdevrun

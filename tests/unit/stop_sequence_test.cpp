// The stop escalation without I/O: which step comes when, how long each waits, what it is called.

#include "instance/stop_sequence.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mdevrun {
namespace {
using namespace std::chrono_literals;

std::vector<StopStep> steps_taken(StopSequence seq) {
  std::vector<StopStep> out{seq.step()};
  while (seq.advance()) out.push_back(seq.step());
  return out;
}

TEST(StopSequence, EscalatesFromPowerdownToSigkill) {
  const StopSequence seq({30s, 5s, false});
  EXPECT_EQ(steps_taken(seq), (std::vector<StopStep>{StopStep::powerdown, StopStep::quit,
                                                     StopStep::terminate, StopStep::kill}));
  EXPECT_EQ(seq.wait(), 30s);
  EXPECT_TRUE(seq.needs_monitor());
  EXPECT_EQ(seq.outcome(), "powered down");
}

TEST(StopSequence, LaterStepsWaitEscalateAfter) {
  StopSequence seq({30s, 2s, false});
  ASSERT_TRUE(seq.advance());
  EXPECT_EQ(seq.wait(), 2s);
  EXPECT_EQ(seq.outcome(), "quit after the guest ignored powerdown for 30 s");
  ASSERT_TRUE(seq.advance());
  EXPECT_FALSE(seq.needs_monitor());
  EXPECT_EQ(seq.outcome(), "terminated (SIGTERM)");
  ASSERT_TRUE(seq.advance());
  EXPECT_EQ(seq.outcome(), "killed (SIGKILL)");
  EXPECT_EQ(seq.wait(), 2s);
  EXPECT_FALSE(seq.advance());  // exhausted: the caller gives up waiting
}

TEST(StopSequence, ForceStartsAtQuit) {
  const StopSequence seq({30s, 5s, true});
  EXPECT_EQ(seq.step(), StopStep::quit);
  EXPECT_EQ(seq.outcome(), "quit (forced)");
  EXPECT_EQ(steps_taken(seq).size(), 3u);
}

// Without a monitor powerdown and quit are skipped, and a skipped powerdown is not reported as
// ignored by the guest.
TEST(StopSequence, SkippedMonitorStepsGoStraightToSignals) {
  StopSequence seq({30s, 5s, false});
  ASSERT_TRUE(seq.skip());
  EXPECT_EQ(seq.outcome(), "quit");
  ASSERT_TRUE(seq.skip());
  EXPECT_EQ(seq.step(), StopStep::terminate);
  EXPECT_EQ(seq.outcome(), "terminated (SIGTERM)");
}

// Once the guest powered itself off, a qemu that exits is "powered down" whatever step is in
// effect, and one that had to be ended says how, without blaming the guest.
TEST(StopSequence, AfterTheGuestShutDownTheOutcomeSaysPoweredDownAndHowQemuEnded) {
  StopSequence seq({30s, 5s, false});
  seq.guest_shut_down();
  EXPECT_TRUE(seq.guest_down());
  EXPECT_EQ(seq.outcome(), "powered down");
  ASSERT_TRUE(seq.advance());
  EXPECT_EQ(seq.outcome(), "powered down; qemu did not exit by itself, quit");
  ASSERT_TRUE(seq.advance());
  EXPECT_EQ(seq.outcome(), "powered down; qemu did not exit by itself, terminated (SIGTERM)");
  ASSERT_TRUE(seq.advance());
  EXPECT_EQ(seq.outcome(), "powered down; qemu did not exit by itself, killed (SIGKILL)");
}

TEST(StopSequence, DefaultsMatchTheDocumentedTimeouts) {
  const StopPolicy policy;
  EXPECT_EQ(policy.guest_timeout, 30s);
  EXPECT_EQ(policy.escalate_after, 5s);
  EXPECT_EQ(kEscalateAfter, 5s);
}

}  // namespace
}  // namespace mdevrun

// Unit tests of the sans-I/O session: bytes in, outputs out, no sockets.

#include "qmp/session.hpp"

#include <gtest/gtest.h>

#include "qmp/error.hpp"

namespace qmp {
namespace {

constexpr std::string_view kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, )"
    R"("capabilities": ["oob"]}})"
    "\r\n";

struct transcript_line {
  direction dir;
  std::string text;
  bool operator==(const transcript_line&) const = default;
};

class SessionTest : public ::testing::Test {
 protected:
  // These tests put ids on the wire (config::ids_on_the_wire): matching by id, and what a reply
  // without one means then. SessionByOrder below covers the default.
  SessionTest()
      : session_(
            1024 * 1024,
            [this](direction d, std::string_view line) {
              transcript_.push_back({d, std::string(line)});
            },
            /*ids_on_the_wire=*/true) {}

  /// Greeting + capabilities reply: the session is ready, the outputs are drained.
  void negotiate() {
    session_.feed(kGreeting);
    ASSERT_EQ(session_.take_output_bytes(), "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
    session_.feed("{\"return\": {}, \"id\": 1}\r\n");
    ASSERT_EQ(session_.current_state(), session::state::ready);
    drain();
    transcript_.clear();
  }

  std::vector<session::output> drain() {
    std::vector<session::output> out;
    while (auto o = session_.next_output()) out.push_back(std::move(*o));
    return out;
  }

  static const session::failed& as_failed(const session::output& o) {
    return std::get<session::failed>(o);
  }

  session session_;
  std::vector<transcript_line> transcript_;
};

TEST_F(SessionTest, GreetingQueuesCapabilitiesAndReplyMakesReady) {
  session_.feed(kGreeting);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  const auto& g = std::get<session::greeting_received>(out[0]).greeting;
  EXPECT_EQ(g.major, 7);
  EXPECT_EQ(g.minor, 2);
  EXPECT_EQ(g.micro, 22);
  EXPECT_EQ(g.package, "Debian");
  EXPECT_EQ(g.capabilities, std::vector<std::string>{"oob"});
  EXPECT_EQ(session_.current_state(), session::state::negotiating);
  EXPECT_EQ(session_.take_output_bytes(), "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
  session_.feed("{\"return\": {}, \"id\": 1}\r\n");
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<session::ready_reached>(out[0]));
}

TEST_F(SessionTest, CapabilitiesRefusedFailsNegotiation) {
  session_.feed(kGreeting);
  session_.feed(R"({"error": {"class": "GenericError", "desc": "nope"}, "id": 1})"
                "\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(as_failed(out[1]).code, error::negotiation_failed);
  EXPECT_EQ(as_failed(out[1]).detail, "qmp_capabilities refused: GenericError: nope");
}

TEST_F(SessionTest, SomethingElseBeforeGreetingIsNoGreeting) {
  session_.feed("{\"return\": {}}\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(as_failed(out[0]).code, error::no_greeting);
}

TEST_F(SessionTest, EofBeforeGreetingIsNoGreetingAfterIsDisconnected) {
  session_.feed_eof();
  EXPECT_EQ(as_failed(drain().at(0)).code, error::no_greeting);
  session other;
  other.feed(kGreeting);
  other.feed_eof();
  std::vector<session::output> out;
  while (auto o = other.next_output()) out.push_back(std::move(*o));
  EXPECT_EQ(as_failed(out.back()).code, error::disconnected);
}

TEST_F(SessionTest, CommandIdsCountUpAndRepliesAreRoutedById) {
  negotiate();
  EXPECT_EQ(session_.send("query-status"), 2u);
  EXPECT_EQ(session_.send("qom-list", {{"path", "/"}}), 3u);
  EXPECT_EQ(session_.take_output_bytes(),
            "{\"execute\":\"query-status\",\"id\":2}\n"
            "{\"arguments\":{\"path\":\"/\"},\"execute\":\"qom-list\",\"id\":3}\n");
  session_.feed(
      "{\"return\": [], \"id\": 3}\n{\"return\": {\"status\": \"running\"}, \"id\": 2}\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<session::reply_received>(out[0]).id, 3u);
  EXPECT_EQ(std::get<session::reply_received>(out[1]).id, 2u);
  EXPECT_EQ(std::get<session::reply_received>(out[1]).reply.value["status"], "running");
  EXPECT_EQ(session_.pending_count(), 0u);
}

TEST_F(SessionTest, EventBeforeItsCommandsReplyComesOutFirst) {
  negotiate();
  session_.send("device_del", {{"id", "tablet0"}});
  session_.feed(
      R"({"timestamp": {"seconds": 1700000000, "microseconds": 42}, "event": "DEVICE_DELETED", )"
      R"("data": {"device": "tablet0", "path": "/machine/peripheral/tablet0"}})"
      "\r\n"
      R"({"return": {}, "id": 2})"
      "\r\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  const auto& e = std::get<session::event_received>(out[0]).event;
  EXPECT_EQ(e.name, "DEVICE_DELETED");
  EXPECT_EQ(e.data["device"], "tablet0");
  EXPECT_EQ(e.seconds, 1700000000);
  EXPECT_EQ(e.microseconds, 42);
  EXPECT_EQ(std::get<session::reply_received>(out[1]).id, 2u);
}

TEST_F(SessionTest, ReplyWithUnknownIdIsNotedAndDropped) {
  negotiate();
  session_.send("query-status");
  session_.feed("{\"return\": {}, \"id\": 77}\n{\"return\": {}, \"id\": \"x\"}\n");
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(session_.current_state(), session::state::ready);
  EXPECT_EQ(session_.pending_count(), 1u);
  ASSERT_EQ(transcript_.size(), 5u);  // out, in, note, in, note
  EXPECT_EQ(transcript_[1], (transcript_line{direction::in, "{\"return\": {}, \"id\": 77}"}));
  EXPECT_EQ(transcript_[2],
            (transcript_line{direction::note,
                             "dropped reply with id 77: no such call pending (unknown, cancelled "
                             "or timed out)"}));
}

TEST_F(SessionTest, LateReplyOfAbandonedCallIsDropped) {
  negotiate();
  const call_id id = session_.send("query-status");
  EXPECT_TRUE(session_.abandon(id));
  EXPECT_FALSE(session_.abandon(id));
  const call_id next = session_.send("query-status");
  session_.feed("{\"return\": {\"a\": 1}, \"id\": 2}\n{\"return\": {\"b\": 2}, \"id\": 3}\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);  // the late reply never reaches the next caller
  EXPECT_EQ(std::get<session::reply_received>(out[0]).id, next);
  EXPECT_EQ(std::get<session::reply_received>(out[0]).reply.value["b"], 2);
}

TEST_F(SessionTest, ErrorWithoutIdEndsTheSession) {
  negotiate();
  session_.send("query-status");
  session_.feed(
      R"({"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'x'"}})"
      "\n{\"return\": {}, \"id\": 2}\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(as_failed(out[0]).code, error::protocol_error);
  EXPECT_EQ(as_failed(out[0]).detail,
            "error reply without id: GenericError: JSON parse error, invalid keyword 'x'");
  EXPECT_EQ(session_.current_state(), session::state::failed);
  session_.feed("{\"return\": {}, \"id\": 2}\n");  // ignored once failed
  EXPECT_TRUE(drain().empty());
}

TEST_F(SessionTest, QemuErrorIsAValue) {
  negotiate();
  session_.send("device_del", {{"id", "nope"}});
  session_.feed(
      R"({"id": 2, "error": {"class": "DeviceNotFound", "desc": "Device 'nope' not found"}})"
      "\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = std::get<session::reply_received>(out[0]).reply;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->to_string(), "DeviceNotFound: Device 'nope' not found");
}

TEST_F(SessionTest, FramingSurvivesByteAtATimeAndMixedTerminators) {
  const std::string input = std::string(kGreeting) + "{\"return\": {}, \"id\": 1}\n" +
                            "{\"event\": \"STOP\"}\r\n\r\n{\"event\": \"RESUME\"}\n";
  for (char c : input) session_.feed(std::string_view(&c, 1));
  auto out = drain();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(std::get<session::event_received>(out[2]).event.name, "STOP");
  EXPECT_EQ(std::get<session::event_received>(out[3]).event.name, "RESUME");
  EXPECT_TRUE(std::get<session::event_received>(out[3]).event.data.is_object());
}

TEST_F(SessionTest, InvalidUtf8InAStringIsReplaced) {
  negotiate();
  session_.send("query-status");
  session_.feed("{\"return\": {\"s\": \"a\xff\xc3(b\"}, \"id\": 2}\n");
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<session::reply_received>(out[0]).reply.value["s"],
            "a\xEF\xBF\xBD\xEF\xBF\xBD(b");
}

TEST_F(SessionTest, InvalidUtf8OutsideAStringIsAProtocolError) {
  negotiate();
  session_.feed("{\"return\": \xff, \"id\": 2}\n");
  EXPECT_EQ(as_failed(drain().at(0)).code, error::protocol_error);
}

TEST_F(SessionTest, InvalidJsonAndNonObjectsAreProtocolErrors) {
  for (std::string_view bad : {"{\"return\": \n", "[1, 2]\n", "42\n", "\"s\"\n", "{\"foo\": 1}\n",
                               "{\"event\": 5}\n", "{\"error\": \"x\", \"id\": 2}\n"}) {
    session s;
    s.feed(kGreeting);
    s.feed("{\"return\": {}, \"id\": 1}\n");
    s.feed(bad);
    std::vector<session::output> out;
    while (auto o = s.next_output()) out.push_back(std::move(*o));
    ASSERT_EQ(out.size(), 3u) << bad;
    EXPECT_EQ(as_failed(out[2]).code, error::protocol_error) << bad;
  }
}

TEST_F(SessionTest, TooDeepNestingIsAProtocolError) {
  negotiate();
  session_.feed(std::string(5000, '[') + "\n");
  EXPECT_EQ(as_failed(drain().at(0)).code, error::protocol_error);
}

TEST_F(SessionTest, EndlessLineFailsWithoutBufferingPastTheLimit) {
  session s(1000);
  s.feed(kGreeting);
  s.feed("{\"return\": {}, \"id\": 1}\n");
  const std::string chunk(300, 'x');
  for (int i = 0; i < 3; ++i) s.feed(chunk);
  EXPECT_EQ(s.current_state(), session::state::ready);
  s.feed(chunk);  // 1200 bytes without a newline
  EXPECT_EQ(s.current_state(), session::state::failed);
  std::vector<session::output> out;
  while (auto o = s.next_output()) out.push_back(std::move(*o));
  EXPECT_EQ(as_failed(out.back()).code, error::message_too_large);
}

TEST_F(SessionTest, LineAtTheLimitPassesOneByteMoreFails) {
  const std::string reply_prefix = "{\"id\": 2, \"return\": \"";
  const std::string body(100, 'y');
  const std::string line = reply_prefix + body + "\"}";
  session ok(line.size());
  session too_small(line.size() - 1);
  for (session* s : {&ok, &too_small}) {
    s->feed("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}}}\n");
    s->feed("{\"return\": {}, \"id\": 1}\n");
    s->send("x");
    s->feed(line + "\r\n");
  }
  EXPECT_EQ(ok.current_state(), session::state::ready);
  EXPECT_EQ(too_small.current_state(), session::state::failed);
}

TEST_F(SessionTest, SendAfterFailureThrows) {
  session_.feed_eof();
  EXPECT_THROW(session_.send("query-status"), std::logic_error);
}

TEST_F(SessionTest, ACommandSentBeforeTheGreetingIsWrittenRightBehindCapabilities) {
  const call_id early = session_.send("query-status");
  EXPECT_FALSE(session_.has_output_bytes());  // nothing goes out before the greeting
  session_.feed(kGreeting);
  EXPECT_EQ(session_.take_output_bytes(),
            "{\"execute\":\"qmp_capabilities\",\"id\":1}\n"
            "{\"execute\":\"query-status\",\"id\":2}\n");
  const call_id negotiating = session_.send("stop");
  EXPECT_EQ(session_.take_output_bytes(), "{\"execute\":\"stop\",\"id\":3}\n");
  session_.feed(
      "{\"return\": {}, \"id\": 1}\n{\"return\": {\"status\": \"running\"}, \"id\": 2}\n"
      "{\"return\": {}, \"id\": 3}\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(std::holds_alternative<session::ready_reached>(out[1]));
  EXPECT_EQ(std::get<session::reply_received>(out[2]).id, early);
  EXPECT_EQ(std::get<session::reply_received>(out[3]).id, negotiating);
}

TEST_F(SessionTest, AnAbandonedEarlyCommandIsNeverWritten) {
  session_.abandon(session_.send("quit"));
  session_.feed(kGreeting);
  EXPECT_EQ(session_.take_output_bytes(), "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
}

TEST_F(SessionTest, RefusedCapabilitiesFailTheSessionAndItsEarlyCommands) {
  session_.feed(kGreeting);
  session_.send("query-status");
  session_.feed(R"({"error": {"class": "GenericError", "desc": "nope"}, "id": 1})"
                "\n"
                R"({"return": {}, "id": 2})"
                "\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);  // the greeting, then the failure: the late reply is not delivered
  EXPECT_EQ(as_failed(out[1]).code, error::negotiation_failed);
}

TEST_F(SessionTest, TranscriptIsDeterministic) {
  session_.feed(kGreeting);
  session_.feed("{\"return\": {}, \"id\": 1}\n");
  session_.send("stop");
  session_.feed("{\"return\": {}, \"id\": 2}\n");
  std::string text;
  for (const auto& [d, line] : transcript_) text += std::string(arrow(d)) + line + "\n";
  EXPECT_EQ(text, "<- " + std::string(kGreeting.substr(0, kGreeting.size() - 2)) +
                      "\n"
                      "-> {\"execute\":\"qmp_capabilities\",\"id\":1}\n"
                      "<- {\"return\": {}, \"id\": 1}\n"
                      "-> {\"execute\":\"stop\",\"id\":2}\n"
                      "<- {\"return\": {}, \"id\": 2}\n");
}

// The default: commands without ids, replies matched by order (QEMU answers in order and is
// slower to answer a command that carries an id).
class SessionByOrder : public ::testing::Test {
 protected:
  std::vector<session::output> drain() {
    std::vector<session::output> out;
    while (auto o = s_.next_output()) out.push_back(std::move(*o));
    return out;
  }
  void negotiate() {
    s_.feed(kGreeting);
    ASSERT_EQ(s_.take_output_bytes(), "{\"execute\":\"qmp_capabilities\"}\n");
    s_.feed("{\"return\": {}}\r\n");
    ASSERT_EQ(s_.current_state(), session::state::ready);
    drain();
  }
  session s_;
};

TEST_F(SessionByOrder, CommandsGoWithoutIdsAndRepliesAreMatchedInOrder) {
  negotiate();
  const call_id a = s_.send("query-status");
  const call_id b = s_.send("qom-list", {{"path", "/"}});
  EXPECT_EQ(s_.take_output_bytes(),
            "{\"execute\":\"query-status\"}\n{\"arguments\":{\"path\":\"/\"},\"execute\":"
            "\"qom-list\"}\n");
  s_.feed("{\"return\": {\"status\": \"running\"}}\n{\"event\": \"STOP\"}\n{\"return\": []}\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  const auto& first = std::get<session::reply_received>(out[0]);
  EXPECT_EQ(first.id, a);
  EXPECT_EQ(first.reply.value["status"], "running");
  EXPECT_EQ(std::get<session::event_received>(out[1]).event.name, "STOP");
  const auto& second = std::get<session::reply_received>(out[2]);
  EXPECT_EQ(second.id, b);
  EXPECT_TRUE(second.reply.value.is_array());
  EXPECT_EQ(s_.pending_count(), 0u);
}

TEST_F(SessionByOrder, AnAbandonedCallsReplyIsDroppedAndTheNextGoesToTheNextCall) {
  negotiate();
  const call_id a = s_.send("stop");
  const call_id b = s_.send("cont");
  EXPECT_TRUE(s_.abandon(a));
  s_.feed("{\"return\": {}}\n{\"return\": {\"b\": 1}}\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = std::get<session::reply_received>(out[0]);
  EXPECT_EQ(r.id, b);
  EXPECT_EQ(r.reply.value["b"], 1);
}

TEST_F(SessionByOrder, AnErrorWithoutIdIsTheReplyToTheCallItAnswers) {
  negotiate();
  const call_id a = s_.send("device_del", {{"id", "nope"}});
  s_.feed(R"({"error": {"class": "DeviceNotFound", "desc": "Device 'nope' not found"}})"
          "\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = std::get<session::reply_received>(out[0]);
  EXPECT_EQ(r.id, a);
  ASSERT_TRUE(r.reply.error);
  EXPECT_EQ(r.reply.error->cls, "DeviceNotFound");
  EXPECT_EQ(s_.current_state(), session::state::ready);
}

TEST_F(SessionByOrder, AReplyWithNoCommandOutstandingIsAProtocolError) {
  negotiate();
  s_.feed("{\"return\": {}}\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<session::failed>(out[0]).code, error::protocol_error);
}

TEST_F(SessionByOrder, CommandsSentBeforeTheGreetingFollowTheCapabilitiesInOrder) {
  const call_id a = s_.send("query-status");
  s_.feed(kGreeting);
  EXPECT_EQ(s_.take_output_bytes(),
            "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\"}\n");
  s_.feed("{\"return\": {}}\n{\"return\": {\"status\": \"paused\"}}\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<session::greeting_received>(out[0]));
  EXPECT_TRUE(std::holds_alternative<session::ready_reached>(out[1]));
  EXPECT_EQ(std::get<session::reply_received>(out[2]).id, a);
}

TEST_F(SessionByOrder, ARefusedCapabilitiesNegotiationFailsTheSession) {
  s_.feed(kGreeting);
  s_.feed(R"({"error": {"class": "CommandNotFound", "desc": "no"}})"
          "\n");
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<session::failed>(out[1]).code, error::negotiation_failed);
}

}  // namespace
}  // namespace qmp

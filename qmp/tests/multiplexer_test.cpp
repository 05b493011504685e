// Unit tests of the sans-I/O server side: client bytes in, forwards and client bytes out. The
// expected texts are what qemu 7.2 answers on a monitor of its own (checked by hand with socat).

#include "qmp/multiplexer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace qmp {
namespace {

greeting qemu_greeting() {
  greeting g;
  g.major = 7;
  g.minor = 2;
  g.micro = 22;
  g.package = "Debian 1:7.2+dfsg-7";
  g.capabilities = {"oob"};
  return g;
}

class MultiplexerTest : public ::testing::Test {
 protected:
  explicit MultiplexerTest(multiplexer_config cfg = {}) : mux_(qemu_greeting(), cfg) {}

  /// The messages queued for `c`, parsed.
  std::vector<json> messages(multiplexer::client_id c) {
    std::vector<json> out;
    std::string bytes = mux_.take_output_bytes(c);
    std::size_t start = 0;
    for (std::size_t nl; (nl = bytes.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(json::parse(bytes.substr(start, nl - start)));
    EXPECT_EQ(start, bytes.size()) << "output ends in a partial line";
    return out;
  }

  std::vector<multiplexer::forward> forwards() {
    std::vector<multiplexer::forward> out;
    while (auto o = mux_.next_output()) {
      if (auto* f = std::get_if<multiplexer::forward>(&*o)) out.push_back(std::move(*f));
      if (auto* d = std::get_if<multiplexer::dropped>(&*o)) dropped_.push_back(std::move(*d));
    }
    return out;
  }

  /// A client past greeting and qmp_capabilities.
  multiplexer::client_id negotiated() {
    const auto c = mux_.add_client();
    mux_.feed(c, R"({"execute": "qmp_capabilities"})"
                 "\n");
    messages(c);
    return c;
  }

  static reply ok(json value) { return {std::move(value), std::nullopt}; }

  multiplexer mux_;
  std::vector<multiplexer::dropped> dropped_;
};

TEST_F(MultiplexerTest, GreetingIsQemusWithoutOob) {
  const auto c = mux_.add_client();
  const auto m = messages(c);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["QMP"]["version"]["qemu"], (json{{"major", 7}, {"minor", 2}, {"micro", 22}}));
  EXPECT_EQ(m[0]["QMP"]["version"]["package"], "Debian 1:7.2+dfsg-7");
  EXPECT_EQ(m[0]["QMP"]["capabilities"], json::array());
}

TEST_F(MultiplexerTest, CommandsBeforeNegotiationGetCommandNotFound) {
  const auto c = mux_.add_client();
  messages(c);
  mux_.feed(c, R"({"execute":"query-status","id":"a"})"
               "\n"
               R"({"execute":"query-status"})"
               "\n");
  const auto m = messages(c);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], json::parse(R"({"id": "a", "error": {"class": "CommandNotFound", "desc":
    "Expecting capabilities negotiation with 'qmp_capabilities'"}})"));
  EXPECT_FALSE(m[1].contains("id"));
  EXPECT_EQ(m[1]["error"]["class"], "CommandNotFound");
  EXPECT_TRUE(forwards().empty());
}

TEST_F(MultiplexerTest, ACommandRightBehindCapabilitiesInOneWriteIsForwarded) {
  const auto c = mux_.add_client();
  messages(c);
  mux_.feed(c, R"({"execute":"qmp_capabilities","id":1})"
               "\n"
               R"({"execute":"query-status","id":2})"
               "\n");
  EXPECT_EQ(messages(c), std::vector<json>{json::parse(R"({"return": {}, "id": 1})")});
  const auto f = forwards();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].command, "query-status");
}

TEST_F(MultiplexerTest, EachClientNegotiatesOnItsOwn) {
  const auto a = mux_.add_client();
  const auto b = mux_.add_client();
  messages(a);
  messages(b);
  mux_.feed(a, R"({"execute":"qmp_capabilities","id":{"x":[1]}})");
  EXPECT_EQ(messages(a), std::vector<json>{json::parse(R"({"return": {}, "id": {"x": [1]}})")});
  mux_.feed(a, R"({"execute":"qmp_capabilities","id":6})");
  EXPECT_EQ(messages(a)[0]["error"]["desc"],
            "Capabilities negotiation is already complete, command ignored");
  // b has not negotiated: still refused.
  mux_.feed(b, R"({"execute":"stop","id":1})");
  EXPECT_EQ(messages(b)[0]["error"]["class"], "CommandNotFound");
  mux_.feed(b, R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":2})");
  EXPECT_EQ(messages(b)[0]["error"]["desc"], "Capability oob not available");
  EXPECT_TRUE(forwards().empty());
}

TEST_F(MultiplexerTest, IdsAreMadeUniqueAndRestoredPerClient) {
  const auto a = negotiated();
  const auto b = negotiated();
  mux_.feed(a, R"({"execute":"query-status","id":1})");
  mux_.feed(b, R"({"execute":"query-status","id":1})");
  mux_.feed(b, R"({"execute":"query-name","id":[1,"x"]})");
  mux_.feed(a, R"({"execute":"device_del","arguments":{"id":"gpu0"}})");  // no id
  auto f = forwards();
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].client, a);
  EXPECT_EQ(f[1].client, b);
  EXPECT_NE(f[0].tok, f[1].tok);
  EXPECT_EQ(f[2].command, "query-name");
  EXPECT_TRUE(f[2].arguments.is_null());
  EXPECT_EQ(f[3].arguments, (json{{"id", "gpu0"}}));
  EXPECT_EQ(mux_.pending_count(), 4u);

  // Answered out of order: each reply goes to its client with that client's id.
  EXPECT_TRUE(mux_.reply(f[2].tok, ok({{"name", "vm"}})));
  EXPECT_TRUE(mux_.reply(f[1].tok, ok({{"status", "paused"}})));
  EXPECT_TRUE(mux_.reply(f[3].tok, reply{nullptr, qmp_error{"DeviceNotFound", "no gpu0"}}));
  EXPECT_TRUE(mux_.reply(f[0].tok, ok({{"status", "running"}})));
  EXPECT_FALSE(mux_.reply(f[0].tok, ok({})));  // answered already
  EXPECT_EQ(messages(b),
            (std::vector<json>{json::parse(R"({"return": {"name": "vm"}, "id": [1, "x"]})"),
                               json::parse(R"({"return": {"status": "paused"}, "id": 1})")}));
  EXPECT_EQ(messages(a),
            (std::vector<json>{
                json::parse(R"({"error": {"class": "DeviceNotFound", "desc": "no gpu0"}})"),
                json::parse(R"({"return": {"status": "running"}, "id": 1})")}));
  EXPECT_EQ(mux_.pending_count(), 0u);
}

TEST_F(MultiplexerTest, EventsReachEveryNegotiatedClient) {
  const auto a = negotiated();
  const auto b = negotiated();
  const auto fresh = mux_.add_client();  // greeted, not negotiated: no events (as qemu)
  messages(fresh);
  event e;
  e.name = "STOP";
  e.seconds = 5;
  e.microseconds = 7;
  mux_.event(e);
  const json expected = json::parse(
      R"({"event": "STOP", "data": {}, "timestamp": {"seconds": 5, "microseconds": 7}})");
  EXPECT_EQ(messages(a), std::vector<json>{expected});
  EXPECT_EQ(messages(b), std::vector<json>{expected});
  EXPECT_TRUE(messages(fresh).empty());
}

TEST_F(MultiplexerTest, StreamSplitLikeQemusParser) {
  const auto c = negotiated();
  // Split across reads and lines, two on one line, CRLF: qemu takes all of these.
  mux_.feed(c, R"({"execute":)");
  mux_.feed(c, "\r\n \"query-status\", \"id\": \"{[\\\"\" ");
  EXPECT_TRUE(forwards().empty());
  mux_.feed(c, "}{\"execute\":\"stop\"}\r\n");
  const auto f = forwards();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].command, "query-status");
  EXPECT_EQ(f[1].command, "stop");
  mux_.reply(f[0].tok, ok({}));
  EXPECT_EQ(messages(c)[0]["id"], "{[\"");
}

TEST_F(MultiplexerTest, GarbageIsAnsweredAndTheStreamGoesOn) {
  const auto c = negotiated();
  mux_.feed(c,
            "garbage\n[1,2]\n{\"foo\":1}\n{\"execute\":1,\"id\":9}\n"
            "{\"execute\":\"x\",\"arguments\":[],\"id\":8}\n{\"id\":3}\n"
            "{\"exec-oob\":\"query-status\",\"id\":10}\n{\"a\": nope}\n\"str\"\n}\n"
            "\xff\xfe\n{\"execute\":\"query-status\",\"id\":\"after\"}\n");
  const auto m = messages(c);
  ASSERT_EQ(m.size(), 11u);
  const auto desc = [&](std::size_t i) { return m[i]["error"]["desc"].get<std::string>(); };
  for (const auto& msg : m) EXPECT_EQ(msg["error"]["class"], "GenericError") << msg;
  EXPECT_EQ(desc(0).rfind("JSON parse error, ", 0), 0u) << desc(0);
  EXPECT_FALSE(m[0].contains("id"));
  EXPECT_EQ(desc(1), "QMP input must be a JSON object");
  EXPECT_EQ(desc(2), "QMP input member 'foo' is unexpected");
  EXPECT_EQ(desc(3), "QMP input member 'execute' must be a string");
  EXPECT_EQ(m[3]["id"], 9);
  EXPECT_EQ(desc(4), "QMP input member 'arguments' must be an object");
  EXPECT_EQ(desc(5), "QMP input lacks member 'execute'");
  EXPECT_EQ(desc(6), "QMP input member 'exec-oob' is unexpected");
  EXPECT_EQ(desc(7).rfind("JSON parse error, ", 0), 0u);
  EXPECT_EQ(desc(8), "QMP input must be a JSON object");
  EXPECT_EQ(desc(9).rfind("JSON parse error, ", 0), 0u);
  EXPECT_EQ(desc(10).rfind("JSON parse error, ", 0), 0u);
  const auto f = forwards();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].command, "query-status");
}

TEST_F(MultiplexerTest, TooDeepAndTooLongAreSkippedToTheNextLine) {
  const auto c = negotiated();
  mux_.feed(c, std::string(2000, '[') + " rest of the line\n{\"execute\":\"stop\"}\n");
  auto m = messages(c);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["error"]["desc"], "JSON parse error, nesting deeper than 1024");
  EXPECT_EQ(forwards().size(), 1u);
}

TEST_F(MultiplexerTest, RemovedClientsRepliesAreDroppedAndOthersUnaffected) {
  const auto a = negotiated();
  const auto b = negotiated();
  mux_.feed(a, R"({"execute":"query-status","id":1})");
  mux_.feed(b, R"({"execute":"query-status","id":1})");
  const auto f = forwards();
  mux_.remove_client(a);  // disconnected mid-command
  EXPECT_TRUE(mux_.reply(f[0].tok, ok({})));
  EXPECT_TRUE(mux_.reply(f[1].tok, ok({})));
  EXPECT_EQ(messages(b).size(), 1u);
  EXPECT_FALSE(mux_.has_client(a));
  mux_.feed(a, "{}");  // late bytes of a removed client: ignored
  EXPECT_TRUE(messages(a).empty());
}

class MultiplexerBoundsTest : public MultiplexerTest {
 protected:
  MultiplexerBoundsTest()
      : MultiplexerTest({.max_message_size = 256, .max_output_bytes = 1000, .max_in_flight = 2}) {}
};

TEST_F(MultiplexerBoundsTest, InFlightBoundHoldsBackInputUntilReplies) {
  const auto c = negotiated();
  std::string flood;
  for (int i = 0; i < 5; ++i)
    flood += R"({"execute":"query-status","id":)" + std::to_string(i) + "}";
  mux_.feed(c, flood);
  auto f = forwards();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_FALSE(mux_.wants_input(c));
  mux_.reply(f[0].tok, ok({}));
  EXPECT_FALSE(mux_.wants_input(c));  // the third went out at once
  f = forwards();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(messages(c).size(), 1u);
}

TEST_F(MultiplexerBoundsTest, AClientThatDoesNotReadIsDroppedAlone) {
  const auto reader = negotiated();
  const auto sleeper = negotiated();
  event e;
  e.name = "RTC_CHANGE";
  e.data = {{"offset", 1}};
  for (int i = 0; i < 20; ++i) {
    mux_.event(e);
    messages(reader);  // this one keeps up
  }
  forwards();
  ASSERT_EQ(dropped_.size(), 1u);
  EXPECT_EQ(dropped_[0].client, sleeper);
  EXPECT_NE(dropped_[0].reason.find("1000 bytes"), std::string::npos);
  EXPECT_FALSE(mux_.has_client(sleeper));
  EXPECT_TRUE(mux_.has_client(reader));
}

TEST_F(MultiplexerBoundsTest, FloodOfGarbageIsDroppedByTheOutputBound) {
  const auto c = negotiated();
  const auto other = negotiated();
  for (int i = 0; i < 100 && mux_.has_client(c); ++i) mux_.feed(c, "garbage\n");
  forwards();
  ASSERT_EQ(dropped_.size(), 1u);
  EXPECT_EQ(dropped_[0].client, c);
  mux_.feed(other, R"({"execute":"query-status"})");
  EXPECT_EQ(forwards().size(), 1u);
}

TEST_F(MultiplexerBoundsTest, LongMessageIsRefusedWithoutBuffering) {
  const auto c = negotiated();
  mux_.feed(c, "{\"execute\":\"x\",\"arguments\":{\"a\":\"" + std::string(300, 'x'));
  mux_.feed(c, std::string(300, 'y') + "\"}}\n{\"execute\":\"stop\"}\n");
  const auto m = messages(c);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["error"]["desc"], "JSON parse error, message longer than 256 bytes");
  const auto f = forwards();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].command, "stop");
}

}  // namespace
}  // namespace qmp

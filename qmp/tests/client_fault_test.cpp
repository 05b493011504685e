// The client against a scripted fault server (support/fault_server.hpp): each scenario ends
// in a clear error or the right result within its timeout.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fault_server.hpp"
#include "qmp/blocking_client.hpp"
#include "qmp/client.hpp"
#include "test_util.hpp"

namespace qmp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::failure_of;
using test::fault_connection;
using test::fault_server;

class FaultTest : public ::testing::Test {
 protected:
  config cfg(std::chrono::milliseconds timeout = 2s) {
    config c;
    c.connect_timeout = timeout;
    c.command_timeout = timeout;
    c.transcript = transcript_.sink();
    // These scripts answer by id, out of order and with wrong ids on purpose: the id path. The
    // default (by order) is covered by session_test's SessionByOrder and the real-qemu tests.
    c.ids_on_the_wire = true;
    return c;
  }
  test::transcript_recorder transcript_;
};

TEST_F(FaultTest, NoGreetingTimesOut) {
  fault_server server([](fault_connection& c) { c.wait_closed(); });
  blocking_client bc(cfg(200ms));
  try {
    bc.connect(server.path());
    FAIL() << "connect succeeded";
  } catch (const system_error& e) {
    EXPECT_EQ(e.code(), error::timeout);
    EXPECT_NE(std::string(e.what()).find("no QMP greeting within 200 ms"), std::string::npos)
        << e.what();
  }
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, GarbageGreetingIsAProtocolError) {
  fault_server server([](fault_connection& c) {
    c.send("hello, I am not qemu\r\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  EXPECT_EQ(failure_of([&] { bc.connect(server.path()); }), error::protocol_error);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, WrongFirstMessageIsNoGreeting) {
  fault_server server([](fault_connection& c) {
    c.send("{\"return\": {}}\r\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  EXPECT_EQ(failure_of([&] { bc.connect(server.path()); }), error::no_greeting);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, CloseBeforeGreetingIsNoGreeting) {
  fault_server server([](fault_connection&) {});
  blocking_client bc(cfg());
  EXPECT_EQ(failure_of([&] { bc.connect(server.path()); }), error::no_greeting);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, GreetingOneByteAtATimeConnects) {
  fault_server server([](fault_connection& c) {
    c.send_byte_by_byte(test::kGreeting);
    auto caps = c.read_message();
    c.send_byte_by_byte(fault_connection::reply_to(caps, json::object()));
    auto cmd = c.read_message();
    c.send_byte_by_byte(fault_connection::reply_to(cmd, {{"status", "running"}}));
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  EXPECT_EQ(bc.peer_greeting().package, "fault");
  EXPECT_EQ(bc.query_status().value.status, "running");
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, CapabilitiesRefused) {
  fault_server server([](fault_connection& c) {
    c.send(test::kGreeting);
    auto caps = c.read_message();
    c.send(json{{"error", {{"class", "GenericError"}, {"desc", "go away"}}}, {"id", caps["id"]}}
               .dump() +
           "\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  try {
    bc.connect(server.path());
    FAIL();
  } catch (const system_error& e) {
    EXPECT_EQ(e.code(), error::negotiation_failed);
    EXPECT_STREQ(e.what(),
                 "qmp_capabilities refused: GenericError: go away: QMP capabilities "
                 "negotiation failed");
  }
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, NoReplyTimesOutAndTheLateReplyIsDroppedNotMisrouted) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto first = c.read_message();   // never answered in time
    auto second = c.read_message();  // sent after the first timed out
    c.send(fault_connection::reply_to(first, "late") + fault_connection::reply_to(second, "mine"));
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  EXPECT_EQ(failure_of([&] { bc.execute("query-status", nullptr, 100ms); }), error::timeout);
  reply r = bc.execute("query-status");
  EXPECT_EQ(r.value, "mine");
  EXPECT_TRUE(transcript_.contains(direction::note, "dropped reply with id 2"));
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

// The client keeps one deadline timer armed for the earliest pending deadline: a call with a
// shorter timeout sent after one with a longer timeout must still time out on its own deadline,
// and a call sent after others were answered (the timer still armed for their old deadlines)
// must too.
TEST_F(FaultTest, EachCallTimesOutOnItsOwnDeadlineWhateverCameBefore) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto answered = c.read_message();
    c.send(fault_connection::reply_to(answered, "first"));
    for (int i = 0; i < 3; ++i) c.read_message();  // never answered
    c.wait_closed();
  });
  boost::asio::io_context ioc;
  client cl(ioc, cfg(10s));
  using clock = std::chrono::steady_clock;
  std::vector<std::pair<error_code, clock::duration>> results(4);
  int done = 0;
  const auto t0 = clock::now();
  auto record = [&](std::size_t i) {
    return [&, i](error_code ec, reply) {
      results[i] = {ec, clock::now() - t0};
      ++done;
    };
  };
  cl.async_connect(server.path(), [&](error_code ec) {
    ASSERT_FALSE(ec);
    cl.async_execute("answered", nullptr, 5s, [&](error_code ec2, reply r) {
      results[0] = {ec2, clock::now() - t0};
      EXPECT_EQ(r.value, "first");
      ++done;
      // Sent after a reply, while the timer is armed for the answered call's 5 s deadline.
      cl.async_execute("long", nullptr, 3s, record(1));
      cl.async_execute("short", nullptr, 200ms, record(2));
      cl.async_execute("shorter", nullptr, 100ms, record(3));
    });
  });
  ASSERT_TRUE(test::run_until(
      ioc, [&] { return done == 4; }, 10s));
  EXPECT_FALSE(results[0].first);
  EXPECT_EQ(results[1].first, error::timeout);
  EXPECT_EQ(results[2].first, error::timeout);
  EXPECT_EQ(results[3].first, error::timeout);
  EXPECT_LT(results[3].second, results[2].second);
  EXPECT_LT(results[2].second, 2s) << "the 200 ms call waited for the 3 s one";
  EXPECT_GE(results[1].second, 3s);
  cl.close();
  EXPECT_EQ(server.finish(), "");
}

// Reply handlers run from the client's own read completion (not posted): one that closes the
// client must end the other pending calls cleanly, not leave them to a freed session.
TEST_F(FaultTest, AReplyHandlerThatClosesTheClientEndsTheRest) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto a = c.read_message();
    auto b = c.read_message();
    c.send(fault_connection::reply_to(a, "a") + fault_connection::reply_to(b, "b"));
    c.wait_closed();
  });
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::vector<error_code> results(2);
  int done = 0;
  cl.async_connect(server.path(), [&](error_code ec) {
    ASSERT_FALSE(ec);
    cl.async_execute("a", nullptr, [&](error_code ec2, reply) {
      results[0] = ec2;
      ++done;
      cl.close();
    });
    cl.async_execute("b", nullptr, [&](error_code ec2, reply) {
      results[1] = ec2;
      ++done;
    });
  });
  ASSERT_TRUE(test::run_until(ioc, [&] { return done == 2; }));
  EXPECT_FALSE(results[0]);
  EXPECT_EQ(results[1], error::cancelled);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, DisconnectMidReplyFailsPendingAndLaterCalls) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send("{\"return\": {\"status\": \"runn");
  });
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::optional<error_code> connected, executed, closed, later;
  cl.async_connect(server.path(), [&](error_code ec) {
    connected = ec;
    cl.async_execute("query-status", nullptr, [&](error_code ec, reply) { executed = ec; });
  });
  cl.async_wait_closed([&](error_code ec) { closed = ec; });
  ASSERT_TRUE(test::run_until(ioc, [&] { return executed && closed; }));
  EXPECT_EQ(*connected, error_code());
  EXPECT_EQ(*executed, error::disconnected);
  EXPECT_EQ(*closed, error::disconnected);
  EXPECT_FALSE(cl.is_connected());
  cl.async_execute("query-status", nullptr, [&](error_code ec, reply) { later = ec; });
  EXPECT_FALSE(later);  // never completes inside the call
  ASSERT_TRUE(test::run_until(
      ioc, [&] { return later.has_value(); }, 100ms));
  EXPECT_EQ(*later, error::disconnected);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, InvalidJsonIsAProtocolError) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send("{\"return\": {\"status\" \"running\"}, \"id\": 2}\r\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::protocol_error);
  EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::disconnected);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, NonObjectMessagesAreProtocolErrors) {
  for (std::string bad : {"[]", "42", "null", "\"QMP\"", "true"}) {
    fault_server server([&](fault_connection& c) {
      c.handshake();
      c.read_message();
      c.send(bad + "\n");
      c.wait_closed();
    });
    blocking_client bc(cfg());
    bc.connect(server.path());
    EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::protocol_error) << bad;
    EXPECT_EQ(server.finish(), "") << bad;
  }
}

TEST_F(FaultTest, ErrorWithoutIdEndsTheSession) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::protocol_error);
  EXPECT_EQ(server.finish(), "");
}

std::string big_reply(std::size_t size) {
  return "{\"return\": \"" + std::string(size, 'a') + "\", \"id\": 2}\r\n";
}

TEST_F(FaultTest, SixtyFourMiBReplyExceedsTheDefaultLimitAndCloses) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send(big_reply(64 << 20));  // returns false once the client has closed
  });
  config c = cfg(10s);
  c.transcript = nullptr;
  blocking_client bc(c);
  bc.connect(server.path());
  try {
    bc.execute("query-status");
    FAIL();
  } catch (const system_error& e) {
    EXPECT_EQ(e.code(), error::message_too_large);
    EXPECT_NE(std::string(e.what()).find("exceeds the limit of 16777216"), std::string::npos);
  }
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, BigReplyWithinARaisedLimitArrivesWhole) {
  // 4 MiB, not 64: parsing 64 MiB takes ~10 s in the unoptimized ASan build.
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send(big_reply(4 << 20));
    c.wait_closed();
  });
  config c = cfg(20s);
  c.transcript = nullptr;
  c.max_message_size = 5 << 20;
  blocking_client bc(c);
  bc.connect(server.path());
  reply r = bc.execute("query-status");
  EXPECT_EQ(r.value.get_ref<const std::string&>().size(), std::size_t{4} << 20);
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, EndlessLineWithoutNewlineIsBounded) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.send_until_closed(std::string(64 * 1024, 'x'));
  });
  config c = cfg(10s);
  c.transcript = nullptr;
  c.max_message_size = 1 << 20;
  blocking_client bc(c);
  bc.connect(server.path());
  EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::message_too_large);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, WrongIdIsDroppedThenTheRightReplyIsDelivered) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send("{\"return\": \"wrong\", \"id\": 999}\r\n");
    c.send("{\"return\": \"wrong\", \"id\": \"2\"}\r\n");
    c.send(fault_connection::reply_to(cmd, "right"));
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  EXPECT_EQ(bc.execute("query-status").value, "right");
  EXPECT_TRUE(transcript_.contains(direction::note, "dropped reply with id 999"));
  EXPECT_TRUE(transcript_.contains(direction::note, "dropped reply with id \"2\""));
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ReplyAndEventInOneWriteEventIsDeliveredFirst) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n" +
           fault_connection::reply_to(cmd, json::object()));
    c.wait_closed();
  });
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::vector<std::string> order;
  std::optional<listener> stops;
  cl.async_connect(server.path(), [&](error_code ec) {
    ASSERT_FALSE(ec);
    stops.emplace(cl, event_filter{{"STOP"}, {}});  // registered before the command is sent
    stops->async_wait(1s, [&](error_code ec, event e) {
      EXPECT_FALSE(ec);
      order.push_back("event " + e.name);
    });
    cl.async_execute("stop", nullptr, [&](error_code ec, reply r) {
      EXPECT_FALSE(ec);
      EXPECT_TRUE(r.ok());
      order.push_back("reply");
    });
  });
  ASSERT_TRUE(test::run_until(ioc, [&] { return order.size() == 2; }));
  EXPECT_EQ(order, (std::vector<std::string>{"event STOP", "reply"}));
  cl.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, InvalidUtf8IsReplacedNotFatal) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send("{\"return\": {\"desc\": \"caf\xe9 \xed\xa0\x80\"}, \"id\": " + cmd["id"].dump() +
           "}\r\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  reply r = bc.execute("query-status");
  EXPECT_EQ(r.value["desc"], "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_NO_THROW((void)r.value.dump());
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ThousandEventsAheadOfTheReply) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    std::string burst;
    for (int i = 0; i < 1000; ++i) {
      burst += "{\"event\": \"TICK\", \"data\": {\"n\": " + std::to_string(i) + "}}\r\n";
    }
    c.send(burst + fault_connection::reply_to(cmd, "after"));
    c.wait_closed();
  });
  config c = cfg();
  c.transcript = nullptr;
  blocking_client bc(c);
  bc.connect(server.path());
  auto ticks = bc.listen({{"TICK"}, {}});
  auto everything = bc.listen({});
  auto even = bc.listen({{}, [](const event& e) { return e.data.value("n", 1) % 2 == 0; }});
  EXPECT_EQ(bc.execute("query-status").value, "after");
  ASSERT_EQ(ticks.queued(), 1000u);
  EXPECT_EQ(everything.queued(), 1000u);
  EXPECT_EQ(even.queued(), 500u);
  for (int i = 0; i < 1000; ++i) {
    auto e = ticks.wait(1s);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->data["n"], i);
  }
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ListenerQueueIsBounded) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    std::string burst;
    for (int i = 0; i < 10; ++i)
      burst += "{\"event\": \"TICK\", \"data\": {\"n\": " + std::to_string(i) + "}}\n";
    c.send(burst + fault_connection::reply_to(cmd, {}));
    c.wait_closed();
  });
  config c = cfg();
  c.max_queued_events = 3;
  blocking_client bc(c);
  bc.connect(server.path());
  auto ticks = bc.listen({{"TICK"}, {}});
  bc.execute("query-status");
  EXPECT_EQ(ticks.queued(), 3u);
  EXPECT_EQ(ticks.dropped(), 7u);
  EXPECT_EQ(ticks.try_pop()->data["n"], 7);
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ConcurrentCallsAreMatchedByIdAndCancelWorks) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    std::vector<json> cmds;
    for (int i = 0; i < 3; ++i) cmds.push_back(c.read_message());
    // Answer in reverse order, including the one that gets cancelled.
    for (auto it = cmds.rbegin(); it != cmds.rend(); ++it) {
      c.send(fault_connection::reply_to(*it, (*it)["execute"]));
    }
    c.wait_closed();
  });
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::vector<std::pair<error_code, json>> results(3);
  int done = 0;
  cl.async_connect(server.path(), [&](error_code ec) {
    ASSERT_FALSE(ec);
    call_id ids[3];
    for (int i = 0; i < 3; ++i) {
      ids[i] = cl.async_execute("cmd" + std::to_string(i), nullptr, [&, i](error_code ec, reply r) {
        results[static_cast<std::size_t>(i)] = {ec, r.value};
        ++done;
      });
    }
    EXPECT_TRUE(cl.cancel(ids[1]));
    EXPECT_FALSE(cl.cancel(ids[1]));
  });
  ASSERT_TRUE(test::run_until(ioc, [&] { return done == 3; }));
  EXPECT_EQ(results[0], std::make_pair(error_code(), json("cmd0")));
  EXPECT_EQ(results[1].first, error::cancelled);
  EXPECT_EQ(results[2], std::make_pair(error_code(), json("cmd2")));
  cl.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ConnectToMissingSocketFailsWithASystemCode) {
  blocking_client bc(cfg());
  const error_code ec = failure_of([&] { bc.connect("/nonexistent/qmp.sock"); });
  EXPECT_EQ(ec, boost::system::errc::no_such_file_or_directory);
}

TEST_F(FaultTest, ConnectAndExecuteSendsTheCommandBeforeCapabilitiesAreAnswered) {
  // The server reads both lines before it answers qmp_capabilities: a client that waits for that
  // answer before it sends its command makes read_message() time out.
  fault_server server(
      [](fault_connection& c) {
        c.send(test::kGreeting);
        const json caps = c.read_message();
        const json cmd = c.read_message();
        if (cmd["execute"] != "query-status") throw std::runtime_error("got " + cmd.dump());
        c.send(fault_connection::reply_to(caps, json::object()) +
               fault_connection::reply_to(cmd, {{"status", "running"}}));
        c.wait_closed();
      },
      1s);
  blocking_client bc(cfg());
  const reply r = bc.connect_and_execute(server.path(), 2s, "query-status", nullptr, 2s);
  EXPECT_EQ(r.value["status"], "running");
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ConnectAndExecuteThrowsAConnectErrorWhenNegotiationFails) {
  fault_server server([](fault_connection& c) {
    c.send(test::kGreeting);
    const json caps = c.read_message();
    c.send(json{{"error", {{"class", "GenericError"}, {"desc", "go away"}}}, {"id", caps["id"]}}
               .dump() +
           "\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  try {
    bc.connect_and_execute(server.path(), 2s, "query-status", nullptr, 2s);
    FAIL() << "no error";
  } catch (const connect_error& e) {
    EXPECT_EQ(e.code(), error::negotiation_failed);
  }
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, ConnectAndExecuteToAMissingSocketIsAConnectError) {
  blocking_client bc(cfg());
  EXPECT_THROW(bc.connect_and_execute("/nonexistent/qmp.sock", 1s, "query-status", nullptr, 1s),
               connect_error);
}

TEST_F(FaultTest, ExecuteBeforeConnectIsNotConnected) {
  blocking_client bc(cfg());
  EXPECT_EQ(failure_of([&] { bc.execute("query-status"); }), error::not_connected);
}

TEST_F(FaultTest, DestroyingTheClientCancelsPendingWork) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.wait_closed();
  });
  boost::asio::io_context ioc;
  std::optional<error_code> executed, waited, closed;
  {
    client cl(ioc, cfg());
    std::optional<error_code> connected;
    cl.async_connect(server.path(), [&](error_code ec) { connected = ec; });
    ASSERT_TRUE(test::run_until(ioc, [&] { return connected.has_value(); }));
    listener l(cl, {});
    l.async_wait([&](error_code ec, event) { waited = ec; });
    cl.async_execute("query-status", nullptr, [&](error_code ec, reply) { executed = ec; });
    cl.async_wait_closed([&](error_code ec) { closed = ec; });
  }
  ASSERT_TRUE(test::run_until(ioc, [&] { return executed && waited && closed; }));
  EXPECT_EQ(*executed, error::cancelled);
  EXPECT_EQ(*waited, error::cancelled);
  EXPECT_EQ(*closed, error::cancelled);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(FaultTest, DeviceDelEventBeforeReplyIsDone) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send(
        "{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": \"/machine/peripheral/d0/x\"}}\n"
        "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"other\"}}\n"
        "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"d0\", \"path\": \"/p\"}}\n" +
        fault_connection::reply_to(cmd, json::object()));
    auto cmd2 = c.read_message();
    c.send(fault_connection::reply_to(cmd2, json::object()) +
           "{\"event\": \"DEVICE_UNPLUG_GUEST_ERROR\", \"data\": {\"device\": \"d1\"}}\n");
    auto cmd3 = c.read_message();
    c.send(fault_connection::reply_to(cmd3, json::object()));
    auto cmd4 = c.read_message();
    c.send(json{{"error", {{"class", "DeviceNotFound"}, {"desc", "Device 'd3' not found"}}},
                {"id", cmd4["id"]}}
               .dump() +
           "\n");
    c.wait_closed();
  });
  blocking_client bc(cfg());
  bc.connect(server.path());
  auto done = bc.device_del("d0", 1s);
  EXPECT_EQ(done.outcome, unplug_outcome::done);
  ASSERT_TRUE(done.completion);
  EXPECT_EQ(done.completion->data["path"], "/p");
  EXPECT_EQ(bc.device_del("d1", 1s).outcome, unplug_outcome::rejected);
  EXPECT_EQ(bc.device_del("d2", 100ms).outcome, unplug_outcome::pending);
  auto failed = bc.device_del("d3", 1s);
  EXPECT_EQ(failed.outcome, unplug_outcome::failed);
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->cls, "DeviceNotFound");
  bc.close();
  EXPECT_EQ(server.finish(), "");
}

}  // namespace
}  // namespace qmp

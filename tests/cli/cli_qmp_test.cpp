// `mdevrun qmp` and `mdevrun events` run in-process against the fault server: exit codes and
// output are part of the CLI contract.

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "cli/cli.hpp"
#include "fault_server.hpp"

namespace mdevrun::cli {
namespace {

using nlohmann::json;
using qmp::test::fault_connection;
using qmp::test::fault_server;

struct result {
  int code;
  std::string out;
  std::string err;
};

result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "mdevrun");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = run(static_cast<int>(argv.size()), argv.data());
  std::string out = testing::internal::GetCapturedStdout();
  return {code, std::move(out), testing::internal::GetCapturedStderr()};
}

int code(ExitCode c) {
  return static_cast<int>(c);
}

TEST(CliQmp, PrintsTheReplyAndSendsTheArguments) {
  json seen;
  fault_server server([&](fault_connection& c) {
    c.handshake();
    seen = c.read_message();
    c.send(fault_connection::reply_to(seen, {{"status", "running"}}));
    c.wait_closed();
  });
  auto r = run_cli({"qmp", "--socket", server.path(), "qom-list", R"({"path": "/"})"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\n  \"status\": \"running\"\n}\n");
  EXPECT_EQ(server.finish(), "");
  // No "id": replies are matched by order (qemu answers a command with an id later).
  EXPECT_EQ(seen, json::parse(R"({"execute": "qom-list", "arguments": {"path": "/"}})"));
}

TEST(CliQmp, QemuErrorReplyPrintsClassAndDescription) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send(json{{"error", {{"class", "DeviceNotFound"}, {"desc", "Device 'x' not found"}}}}.dump() +
           "\n");
    c.wait_closed();
  });
  auto r = run_cli({"qmp", "--socket", server.path(), "device_del", R"({"id": "x"})"});
  EXPECT_EQ(r.code, code(ExitCode::qmp_error));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mdevrun: DeviceNotFound: Device 'x' not found\n");
  EXPECT_EQ(server.finish(), "");
}

TEST(CliQmp, NoReplyIsATimeout) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.read_message();
    c.wait_closed();
  });
  auto r = run_cli({"qmp", "--socket", server.path(), "--timeout", "0.2", "query-status"});
  EXPECT_EQ(r.code, code(ExitCode::timeout)) << r.err;
  EXPECT_EQ(server.finish(), "");
}

TEST(CliQmp, MissingSocketCannotConnect) {
  auto r = run_cli({"qmp", "--socket", "/nonexistent/qmp.sock", "query-status"});
  EXPECT_EQ(r.code, code(ExitCode::connect));
  EXPECT_EQ(r.err, "mdevrun: cannot connect to /nonexistent/qmp.sock: No such file or directory\n");
}

TEST(CliQmp, GarbageIsAProtocolError) {
  fault_server server([](fault_connection& c) {
    c.send("garbage\n");
    c.wait_closed();
  });
  auto r = run_cli({"qmp", "--socket", server.path(), "query-status"});
  EXPECT_EQ(r.code, code(ExitCode::protocol)) << r.err;
  EXPECT_EQ(server.finish(), "");
}

TEST(CliQmp, BadArgsJsonIsAUsageError) {
  auto r = run_cli({"qmp", "--socket", "/unused", "device_del", "{\"id\":"});
  EXPECT_EQ(r.code, code(ExitCode::usage));
  EXPECT_EQ(r.err, "mdevrun: ARGS-JSON is not valid JSON: {\"id\":\n");
  EXPECT_EQ(run_cli({"qmp", "--socket", "/unused", "device_del", "[]"}).code,
            code(ExitCode::usage));
  EXPECT_EQ(run_cli({"qmp", "query-status"}).code, code(ExitCode::usage));  // no --socket
}

TEST(CliQmp, DebugPrintsTheTranscriptOnStderr) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    auto cmd = c.read_message();
    c.send(fault_connection::reply_to(cmd, json::object()));
    c.wait_closed();
  });
  auto r = run_cli({"qmp", "--debug", "--socket", server.path(), "stop"});
  EXPECT_EQ(r.code, 0);
  // The command goes out right behind qmp_capabilities, before its reply (one round trip).
  const auto caps = r.err.find("-> {\"execute\":\"qmp_capabilities\"}\n");
  const auto stop = r.err.find("-> {\"execute\":\"stop\"}\n");
  const auto caps_reply = r.err.find("<- {\"return\":{}}\n");
  const auto stop_reply = r.err.find("<- {\"return\":{}}\n", caps_reply + 1);
  ASSERT_NE(stop_reply, std::string::npos) << r.err;
  EXPECT_LT(caps, stop) << r.err;
  EXPECT_LT(stop, caps_reply) << r.err;
  EXPECT_LT(caps_reply, stop_reply) << r.err;
  EXPECT_EQ(server.finish(), "");
}

constexpr const char* kStop =
    "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n";
constexpr const char* kResume =
    "{\"event\": \"RESUME\", \"data\": {}, \"timestamp\": {\"seconds\": 3, \"microseconds\": 4}}\n";

TEST(CliEvents, PrintsEventsAsJsonLinesUntilTheGivenOne) {
  fault_server server([](fault_connection& c) {
    c.send(qmp::test::kGreeting);
    auto caps = c.read_message();
    // Events in the same write as the capabilities reply are not lost.
    c.send(fault_connection::reply_to(caps, json::object()) + kStop + kResume + kStop);
    c.wait_closed();
  });
  auto r = run_cli({"events", "--socket", server.path(), "--until", "RESUME", "--timeout", "5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "{\"data\":{},\"event\":\"STOP\",\"timestamp\":{\"microseconds\":2,\"seconds\":1}}\n"
      "{\"data\":{},\"event\":\"RESUME\",\"timestamp\":{\"microseconds\":4,\"seconds\":3}}\n");
  EXPECT_EQ(server.finish(), "");
}

TEST(CliEvents, UntilNeverComingIsATimeout) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.send(kStop);
    c.wait_closed();
  });
  auto r = run_cli({"events", "--socket", server.path(), "--until", "RESUME", "--timeout", "0.2"});
  EXPECT_EQ(r.code, code(ExitCode::timeout));
  EXPECT_EQ(r.err, "mdevrun: no RESUME event within 0.2 s\n");
  EXPECT_EQ(server.finish(), "");
}

TEST(CliEvents, WithoutUntilTheStreamEndsWhenQemuQuits) {
  fault_server server([](fault_connection& c) {
    c.handshake();
    c.send(kStop);
  });
  auto r = run_cli({"events", "--socket", server.path(), "--timeout", "5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"data\":{},\"event\":\"STOP\",\"timestamp\":{\"microseconds\":2,\"seconds\":1}}\n");
  EXPECT_EQ(server.finish(), "");
}

TEST(CliEvents, ClosedBeforeUntilCannotConnect) {
  fault_server server([](fault_connection& c) { c.handshake(); });
  auto r = run_cli({"events", "--socket", server.path(), "--until", "RESUME", "--timeout", "5"});
  EXPECT_EQ(r.code, code(ExitCode::connect));
  EXPECT_EQ(r.err, "mdevrun: the monitor closed before RESUME\n");
  EXPECT_EQ(server.finish(), "");
}

}  // namespace
}  // namespace mdevrun::cli

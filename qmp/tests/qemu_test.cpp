// The client against a real qemu (-accel tcg -S -nodefaults -display none). ctest label: qemu.

#include <signal.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "qemu_instance.hpp"
#include "qmp/blocking_client.hpp"
#include "qmp/client.hpp"
#include "test_util.hpp"

namespace qmp {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::failure_of;

class QemuTest : public ::testing::Test {
 protected:
  config cfg() {
    config c;
    c.connect_timeout = 10s;
    c.command_timeout = 10s;
    return c;
  }
};

TEST_F(QemuTest, GreetingCarriesTheVersion) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  const greeting& g = bc.peer_greeting();
  EXPECT_GE(g.major, 7);
  EXPECT_FALSE(g.package.empty());
  EXPECT_NE(std::find(g.capabilities.begin(), g.capabilities.end(), "oob"), g.capabilities.end());
  // The same version query-version reports.
  reply v = bc.execute("query-version");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value["qemu"]["major"], g.major);
  EXPECT_EQ(v.value["qemu"]["minor"], g.minor);
  EXPECT_EQ(v.value["qemu"]["micro"], g.micro);
}

TEST_F(QemuTest, QueryStatusOfAStoppedMachine) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  auto status = bc.query_status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value.status, "prelaunch");
  EXPECT_FALSE(status.value.running);
}

TEST_F(QemuTest, UnknownCommandIsCommandNotFoundAsAValue) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  reply r = bc.execute("no-such-command");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->cls, "CommandNotFound");
  EXPECT_EQ(r.error->desc, "The command no-such-command has not been found");
  EXPECT_TRUE(bc.query_status().ok());  // the session goes on
}

TEST_F(QemuTest, QueryQmpSchemaFitsTheDefaultLimit) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  reply r = bc.execute("query-qmp-schema");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.value.is_array());
  EXPECT_GT(r.value.size(), 500u);
}

TEST_F(QemuTest, StopAndContEmitStopAndResume) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  auto events = bc.listen({{"STOP", "RESUME"}, {}});  // before the commands
  ASSERT_TRUE(bc.cont().ok());
  auto resume = events.wait(5s);
  ASSERT_TRUE(resume);
  EXPECT_EQ(resume->name, "RESUME");
  EXPECT_GT(resume->seconds, 0);
  EXPECT_TRUE(bc.query_status().value.running);
  ASSERT_TRUE(bc.stop().ok());
  auto stop = events.wait(5s);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->name, "STOP");
  EXPECT_EQ(bc.query_status().value.status, "paused");
}

TEST_F(QemuTest, DeviceDelOfAUsbTabletCompletesWithDeviceDeleted) {
  test::qemu_instance qemu(
      {"-device", "qemu-xhci,id=xhci", "-device", "usb-tablet,id=tablet0,bus=xhci.0"});
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  auto props = bc.qom_list("/machine/peripheral");
  ASSERT_TRUE(props.ok());
  EXPECT_TRUE(std::any_of(props.value.begin(), props.value.end(),
                          [](const qom_property& p) { return p.name == "tablet0"; }));
  unplug_result r = bc.device_del("tablet0", 5s);
  EXPECT_EQ(r.outcome, unplug_outcome::done);
  ASSERT_TRUE(r.completion);
  EXPECT_EQ(r.completion->data["device"], "tablet0");
  // Gone now: a second device_del is qemu's DeviceNotFound, as a value.
  unplug_result again = bc.device_del("tablet0", 1s);
  EXPECT_EQ(again.outcome, unplug_outcome::failed);
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->cls, "DeviceNotFound");
  // And plugged back.
  ASSERT_TRUE(bc.device_add({{"driver", "usb-tablet"}, {"id", "tablet0"}, {"bus", "xhci.0"}}).ok());
  EXPECT_EQ(bc.device_del("tablet0", 5s).outcome, unplug_outcome::done);
}

TEST_F(QemuTest, QueryPciListsTheControllers) {
  test::qemu_instance qemu({"-device", "qemu-xhci,id=xhci"});
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  auto pci = bc.query_pci();
  ASSERT_TRUE(pci.ok());
  auto it = std::find_if(pci.value.begin(), pci.value.end(),
                         [](const pci_device& d) { return d.qdev_id == "xhci"; });
  ASSERT_NE(it, pci.value.end());
  EXPECT_EQ(it->vendor_id, 0x1b36);   // Red Hat, Inc.
  EXPECT_EQ(it->class_code, 0x0c03);  // USB controller
}

TEST_F(QemuTest, KilledMidCommandFailsPendingWithDisconnected) {
  test::qemu_instance qemu;
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::optional<error_code> connected, executed, closed;
  cl.async_connect(qemu.qmp_path(), [&](error_code ec) { connected = ec; });
  cl.async_wait_closed([&](error_code ec) { closed = ec; });
  ASSERT_TRUE(test::run_until(ioc, [&] { return connected.has_value(); }));
  ASSERT_FALSE(*connected);
  qemu.signal(SIGSTOP);  // qemu cannot answer: the command is surely pending when it dies
  cl.async_execute("query-status", nullptr, [&](error_code ec, reply) { executed = ec; });
  // Asio writes speculatively inside async_execute: the command is in qemu's socket buffer now.
  qemu.kill_and_reap();
  ASSERT_TRUE(test::run_until(ioc, [&] { return executed && closed; }));
  EXPECT_EQ(*executed, error::disconnected);
  EXPECT_EQ(*closed, error::disconnected);
  std::optional<error_code> later;
  cl.async_execute("query-status", nullptr, [&](error_code ec, reply) { later = ec; });
  ASSERT_TRUE(test::run_until(
      ioc, [&] { return later.has_value(); }, 100ms));
  EXPECT_EQ(*later, error::disconnected);
}

TEST_F(QemuTest, PipelinedCommandsAllComeBack) {
  test::qemu_instance qemu;
  boost::asio::io_context ioc;
  client cl(ioc, cfg());
  std::optional<error_code> connected;
  cl.async_connect(qemu.qmp_path(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(test::run_until(ioc, [&] { return connected.has_value(); }));
  ASSERT_FALSE(*connected);
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    cl.async_execute("query-status", nullptr, [&](error_code ec, reply r) {
      if (!ec && r.ok() && r.value["status"] == "prelaunch") ++ok;
    });
  }
  ASSERT_TRUE(test::run_until(ioc, [&] { return ok == 100; }));
}

// By default commands go without ids and real qemu's replies are matched by order.
TEST_F(QemuTest, TranscriptRecordsEveryMessage) {
  test::qemu_instance qemu;
  test::transcript_recorder t;
  config c = cfg();
  c.transcript = t.sink();
  blocking_client bc(c);
  bc.connect(qemu.qmp_path());
  bc.execute("query-status");
  ASSERT_EQ(t.lines.size(), 5u);
  EXPECT_EQ(t.lines[0].first, direction::in);
  EXPECT_EQ(t.lines[0].second.rfind("{\"QMP\": ", 0), 0u);
  EXPECT_EQ(t.lines[1],
            std::make_pair(direction::out, std::string(R"({"execute":"qmp_capabilities"})")));
  EXPECT_EQ(t.lines[2], std::make_pair(direction::in, std::string(R"({"return": {}})")));
  EXPECT_EQ(t.lines[3],
            std::make_pair(direction::out, std::string(R"({"execute":"query-status"})")));
  EXPECT_EQ(t.lines[4].second,
            R"({"return": {"status": "prelaunch", "singlestep": false, "running": false}})");
}

// With ids on the wire qemu echoes them, and the replies are matched by id.
TEST_F(QemuTest, IdsOnTheWireAreEchoedAndMatched) {
  test::qemu_instance qemu;
  test::transcript_recorder t;
  config c = cfg();
  c.transcript = t.sink();
  c.ids_on_the_wire = true;
  blocking_client bc(c);
  bc.connect(qemu.qmp_path());
  EXPECT_TRUE(bc.execute("query-status").ok());
  EXPECT_FALSE(bc.execute("no-such-command").ok());
  EXPECT_TRUE(bc.execute("query-status").ok());
  ASSERT_EQ(t.lines.size(), 9u);
  EXPECT_EQ(t.lines[3],
            std::make_pair(direction::out, std::string(R"({"execute":"query-status","id":2})")));
  EXPECT_EQ(
      t.lines[4].second,
      R"({"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": 2})");
}

// By order, a refused command's error (which then has no id) is that call's reply, and the next
// call gets the next reply.
TEST_F(QemuTest, ByOrderAnErrorIsTheReplyOfItsOwnCall) {
  test::qemu_instance qemu;
  blocking_client bc(cfg());
  bc.connect(qemu.qmp_path());
  auto& c = bc.async_client();
  std::vector<reply> got(3);
  int sent = 0, completed = 0;
  for (const char* command : {"query-status", "no-such-command", "query-name"})
    c.async_execute(command, nullptr, [&, i = sent++](error_code ec, reply r) {
      EXPECT_FALSE(ec) << ec.message();
      got[static_cast<std::size_t>(i)] = std::move(r);
      ++completed;
    });
  bc.run_until([&] { return completed == 3; });
  EXPECT_EQ(got[0].value["status"], "prelaunch");
  ASSERT_TRUE(got[1].error);
  EXPECT_EQ(got[1].error->cls, "CommandNotFound");
  EXPECT_TRUE(got[2].value.is_object()) << got[2].value.dump();
}

}  // namespace
}  // namespace qmp

// Removing mdevs against the fake sysfs: ownership, stale records, a remove that blocks while the
// device is held (bounded, naming the holder), EBUSY and permission errors.

#include "devices/mdev_remove.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>

#include "devices/mdev_discovery.hpp"
#include "mdev_test_support.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A `sleep` process holding a node open, like qemu holding /dev/vfio/N; killed on destruction.
class Holder {
 public:
  explicit Holder(const fs::path& node) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 3, node.c_str(), O_RDWR, 0);
    char arg0[] = "sleep", arg1[] = "60";
    char* argv[] = {arg0, arg1, nullptr};
    if (posix_spawnp(&pid_, "sleep", &actions, nullptr, argv, ::environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Holder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class MdevRemoveTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    auto config = kernel_like_config();
    config["devices"] = {{{"uuid", kUuid1}, {"parent", "mtty"}, {"type", "mtty-1"}},
                         {{"uuid", kUuid2}, {"parent", "mdpy"}, {"type", "mdpy-vga"}}};
    mount(config);
    records_ = {{"serial0", kUuid1, "mtty", "mtty-1", true},
                {"gpu0", kUuid2, "mdpy", "mdpy-vga", false}};
  }
  bool exists(const char* uuid) { return find_device(fake().host(), uuid).has_value(); }
  std::vector<MdevRecord> records_;
};

TEST_F(MdevRemoveTest, RemovesOnlyTheDevicesTheInstanceCreated) {
  const auto outcomes = remove_owned_mdevs(records_, fake().host());
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].result, RemoveResult::removed);
  EXPECT_EQ(outcomes[1].result, RemoveResult::kept);
  EXPECT_FALSE(exists(kUuid1));
  EXPECT_TRUE(exists(kUuid2));
}

TEST_F(MdevRemoveTest, ForceRemovesDevicesItDidNotCreateToo) {
  const auto outcomes = remove_owned_mdevs(records_, fake().host(), {}, /*force=*/true);
  EXPECT_EQ(outcomes[0].result, RemoveResult::removed);
  EXPECT_EQ(outcomes[1].result, RemoveResult::removed);
  EXPECT_FALSE(exists(kUuid1));
  EXPECT_FALSE(exists(kUuid2));
}

TEST_F(MdevRemoveTest, AStaleRecordOfADeviceAlreadyGoneIsSuccess) {
  ASSERT_EQ(write_sysfs(fake().sys() / "bus/mdev/devices" / kUuid1 / "remove", "1"), 0);
  const auto outcomes = remove_owned_mdevs(records_, fake().host());
  EXPECT_EQ(outcomes[0].result, RemoveResult::already_gone);
  EXPECT_FALSE(remove_mdev(fake().host(), "00000000-0000-4000-8000-000000000009"));
  EXPECT_EQ(fake().status()["removes"], 1);
}

TEST_F(MdevRemoveTest, ABlockedRemoveTimesOutAndNamesTheProcessHoldingTheNode) {
  Holder qemu(fake().dev() / "vfio/20");
  ASSERT_GT(qemu.pid(), 0);
  fake().control(std::string("in-use ") + kUuid1 + " block");
  RemoveOptions options;
  options.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const auto e = error_of([&] { remove_owned_mdevs(records_, fake().host(), options); });
  ASSERT_TRUE(e);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(e->code(), ExitCode::busy);
  EXPECT_EQ(std::string(e->what()),
            "removing mdev " + std::string(kUuid1) +
                " did not finish within 0.3 s: " + (fake().dev() / "vfio/20").string() +
                " is held by pid " + std::to_string(qemu.pid()) +
                " (sleep: sleep 60); stop it, then remove the mdev again");
  EXPECT_TRUE(exists(kUuid1));
  // The abandoned writer was interrupted: nothing stays blocked in the fake.
  EXPECT_TRUE(eventually([&] { return fake().status()["pending_removes"] == 0; }));
}

TEST_F(MdevRemoveTest, ABlockedRemoveFinishesWhenTheHolderLetsGoWithinTheBound) {
  fake().control(std::string("in-use ") + kUuid1 + " block");
  auto remover = std::async(std::launch::async, [&] {
    RemoveOptions options;
    options.timeout = 20s;
    return remove_mdev(fake().host(), kUuid1, options);
  });
  ASSERT_TRUE(eventually([&] { return fake().status()["pending_removes"] == 1; }));
  fake().control(std::string("release ") + kUuid1);
  ASSERT_EQ(remover.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(remover.get());
  EXPECT_FALSE(exists(kUuid1));
}

TEST_F(MdevRemoveTest, EbusyNamesTheHolder) {
  Holder qemu(fake().dev() / "vfio/20");
  fake().control(std::string("in-use ") + kUuid1 + " ebusy");
  const auto e = error_of([&] { remove_mdev(fake().host(), kUuid1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ExitCode::busy);
  EXPECT_EQ(std::string(e->what()),
            "cannot remove mdev " + std::string(kUuid1) + ": it is in use (EBUSY); " +
                (fake().dev() / "vfio/20").string() + " is held by pid " +
                std::to_string(qemu.pid()) + " (sleep: sleep 60); stop it first");
}

TEST_F(MdevRemoveTest, NoPermissionToWriteRemoveSaysRunAsRoot) {
  fake().control("deny-writes on");
  const auto e = error_of([&] { remove_mdev(fake().host(), kUuid1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ExitCode::permission);
  EXPECT_EQ(std::string(e->what()),
            "cannot remove mdev " + std::string(kUuid1) + ": no permission to write " +
                (fake().sys() / "bus/mdev/devices" / kUuid1 / "remove").string() +
                " (EACCES): run mdevrun as root");
}

TEST_F(MdevRemoveTest, EveryOwnedDeviceIsTriedAndTheFailuresAreReportedTogether) {
  records_[1].created = true;
  fake().control("fail-remove EIO 2");
  const auto e = error_of([&] { remove_owned_mdevs(records_, fake().host()); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ExitCode::mdev);
  const std::string devices = (fake().sys() / "bus/mdev/devices").string();
  EXPECT_EQ(std::string(e->what()),
            "cannot remove mdev " + std::string(kUuid2) + ": writing " + devices + "/" + kUuid2 +
                "/remove failed: Input/output error (EIO); cannot remove mdev " + kUuid1 +
                ": writing " + devices + "/" + kUuid1 + "/remove failed: Input/output error (EIO)");
}

}  // namespace
}  // namespace mdevrun::testing

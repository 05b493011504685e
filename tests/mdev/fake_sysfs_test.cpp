// The fake sysfs itself: it must behave like the kernel's mdev ABI (tests/support/fake_sysfs/
// README.md), or the tests of the mdev layer prove nothing.

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <future>

#include "mdev_test_support.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;

class FakeSysfsTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    mount(kernel_like_config());
  }
  fs::path type_dir(const std::string& parent, const std::string& type) {
    return fake().sys() / "class/mdev_bus" / parent / "mdev_supported_types" / type;
  }
  std::string read(const fs::path& path) { return read_sysfs(path).value_or("<unreadable>"); }
  int create(const std::string& parent, const std::string& type, const std::string& uuid) {
    return write_sysfs(type_dir(parent, type) / "create", uuid);
  }
};

TEST_F(FakeSysfsTest, LaysOutParentsLikeSysfs) {
  const fs::path sys = fake().sys();
  EXPECT_EQ(fs::read_symlink(sys / "class/mdev_bus/mtty"), "../../devices/virtual/mtty/mtty");
  EXPECT_EQ(fs::read_symlink(sys / "class/mdev_bus/0000:00:02.0"),
            "../../devices/pci0000:00/0000:00:02.0");
  EXPECT_EQ(fs::canonical(sys / "bus/pci/devices/0000:00:02.0"),
            sys / "devices/pci0000:00/0000:00:02.0");
  EXPECT_EQ(read(type_dir("mtty", "mtty-2") / "available_instances"), "12\n");
  EXPECT_EQ(read(type_dir("mtty", "mtty-2") / "device_api"), "vfio-pci\n");
  EXPECT_EQ(read(type_dir("mtty", "mtty-2") / "name"), "Dual-port serial\n");
  EXPECT_FALSE(fs::exists(type_dir("mtty", "mtty-2") / "description"));  // mtty has none
  EXPECT_EQ(read(type_dir("mbochs", "mbochs-3") / "description"),
            "virtual display, 64 MB video memory\n");
  EXPECT_TRUE(fs::is_directory(type_dir("mdpy", "mdpy-vga") / "devices"));
  int error = 0;
  EXPECT_FALSE(read_sysfs(type_dir("mtty", "mtty-1") / "create", &error));  // store-only
  EXPECT_EQ(error, EACCES);
  EXPECT_EQ(write_sysfs(type_dir("mtty", "mtty-1") / "available_instances", "3"), EACCES);
}

TEST_F(FakeSysfsTest, CreateMakesTheDeviceBeforeWriteReturns) {
  ASSERT_EQ(create("mtty", "mtty-1", kUuid1), 0);
  const fs::path sys = fake().sys();
  const fs::path link = sys / "bus/mdev/devices" / kUuid1;
  const fs::path real = sys / "devices/virtual/mtty/mtty" / kUuid1;
  EXPECT_EQ(fs::canonical(link), real);
  EXPECT_EQ(fs::read_symlink(real / "mdev_type"), "../mdev_supported_types/mtty-1");
  EXPECT_EQ(fs::canonical(real / "iommu_group"), sys / "kernel/iommu_groups/20");
  EXPECT_TRUE(fs::exists(real / "remove"));
  EXPECT_EQ(fs::canonical(type_dir("mtty", "mtty-1") / "devices" / kUuid1), real);
  EXPECT_EQ(fs::canonical(sys / "kernel/iommu_groups/20/devices" / kUuid1), real);
  EXPECT_TRUE(fs::is_regular_file(fake().dev() / "vfio/20"));
  EXPECT_EQ(read(type_dir("mtty", "mtty-1") / "available_instances"), "23\n");
  EXPECT_EQ(read(type_dir("mtty", "mtty-2") / "available_instances"), "11\n");  // shared ports
}

TEST_F(FakeSysfsTest, CreateTakesANewlineAndStoresUpperCaseAsLowerCase) {
  ASSERT_EQ(create("mdpy", "mdpy-vga", "4DD50F26-EC08-11E8-B838-4BC3356865B6\n"), 0);
  EXPECT_TRUE(fs::exists(fake().sys() / "bus/mdev/devices" / kUuid1));
}

TEST_F(FakeSysfsTest, CreateRejectsBadLengthOrFormatWithEinval) {
  const std::string uuid = kUuid1;
  EXPECT_EQ(create("mtty", "mtty-1", uuid.substr(0, 35)), EINVAL);
  EXPECT_EQ(create("mtty", "mtty-1", uuid + "\n\n"), EINVAL);
  EXPECT_EQ(create("mtty", "mtty-1", "4dd50f26+ec08-11e8-b838-4bc3356865b6"), EINVAL);
  EXPECT_EQ(create("mtty", "mtty-1", "4dd50f26-ec08-11e8-b838-4bc3356865bg"), EINVAL);
  EXPECT_EQ(fake().status()["creates"], 0);
}

TEST_F(FakeSysfsTest, CreateOfAUuidInUseOnAnyParentIsEexist) {
  ASSERT_EQ(create("mtty", "mtty-1", kUuid1), 0);
  EXPECT_EQ(create("mtty", "mtty-1", kUuid1), EEXIST);
  EXPECT_EQ(create("mbochs", "mbochs-1", kUuid1), EEXIST);
}

TEST_F(FakeSysfsTest, SharedPoolRunsOutForEveryTypeWithEnospc) {
  // mbochs: 256 MB for all types; four large (64 MB) devices take it all.
  const char* uuids[] = {
      "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
      "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"};
  for (const char* uuid : uuids) ASSERT_EQ(create("mbochs", "mbochs-3", uuid), 0);
  EXPECT_EQ(read(type_dir("mbochs", "mbochs-1") / "available_instances"), "0\n");
  EXPECT_EQ(create("mbochs", "mbochs-1", kUuid1), ENOSPC);
  ASSERT_EQ(write_sysfs(fake().sys() / "bus/mdev/devices" / uuids[0] / "remove", "1"), 0);
  EXPECT_EQ(read(type_dir("mbochs", "mbochs-1") / "available_instances"), "16\n");
  EXPECT_EQ(create("mbochs", "mbochs-1", kUuid1), 0);
}

TEST_F(FakeSysfsTest, ParentWideCountRunsOutWithEusers) {
  // mdpy: 4 instances for the whole parent, whatever the type.
  const char* uuids[] = {
      "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
      "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"};
  const char* types[] = {"mdpy-vga", "mdpy-xga", "mdpy-hd", "mdpy-vga"};
  for (int i = 0; i < 4; ++i) ASSERT_EQ(create("mdpy", types[i], uuids[i]), 0);
  EXPECT_EQ(create("mdpy", "mdpy-hd", kUuid1), EUSERS);
}

TEST_F(FakeSysfsTest, RemoveFreesTheInstanceAndTheNode) {
  ASSERT_EQ(create("0000:00:02.0", "i915-GVTg_V4_1", kUuid1), 0);
  EXPECT_EQ(read(type_dir("0000:00:02.0", "i915-GVTg_V4_8") / "available_instances"), "0\n");
  const fs::path device = fake().sys() / "bus/mdev/devices" / kUuid1;
  EXPECT_EQ(write_sysfs(device / "remove", "x"), EINVAL);
  EXPECT_EQ(write_sysfs(device / "remove", "0"), 0);  // kstrtoul 0: nothing happens
  EXPECT_TRUE(fs::exists(device));
  ASSERT_EQ(write_sysfs(device / "remove", "1\n"), 0);
  EXPECT_FALSE(fs::exists(device));
  EXPECT_FALSE(fs::exists(fake().dev() / "vfio/20"));
  EXPECT_FALSE(fs::exists(fake().sys() / "kernel/iommu_groups/20"));
  EXPECT_EQ(read(type_dir("0000:00:02.0", "i915-GVTg_V4_8") / "available_instances"), "8\n");
}

TEST_F(FakeSysfsTest, RemoveBlocksWhileInUseUntilReleased) {
  ASSERT_EQ(create("mtty", "mtty-1", kUuid1), 0);
  fake().control(std::string("in-use ") + kUuid1 + " block");
  const fs::path remove = fake().sys() / "bus/mdev/devices" / kUuid1 / "remove";
  auto writer = std::async(std::launch::async, [&] { return write_sysfs(remove, "1"); });
  ASSERT_TRUE(eventually([&] { return fake().status()["pending_removes"] == 1; }));
  EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  EXPECT_TRUE(fs::exists(fake().sys() / "bus/mdev/devices" / kUuid1));
  fake().control(std::string("release ") + kUuid1);
  ASSERT_EQ(writer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(writer.get(), 0);
  EXPECT_FALSE(fs::exists(fake().sys() / "bus/mdev/devices" / kUuid1));
}

TEST_F(FakeSysfsTest, RemoveOfADeviceInUseCanFailWithEbusy) {
  ASSERT_EQ(create("mtty", "mtty-1", kUuid1), 0);
  fake().control(std::string("in-use ") + kUuid1 + " ebusy");
  EXPECT_EQ(write_sysfs(fake().sys() / "bus/mdev/devices" / kUuid1 / "remove", "1"), EBUSY);
  EXPECT_TRUE(fs::exists(fake().sys() / "bus/mdev/devices" / kUuid1));
}

TEST_F(FakeSysfsTest, HooksFailTheNextCreateOrRemoveOnce) {
  fake().control("fail-create ENODEV");
  EXPECT_EQ(create("mtty", "mtty-1", kUuid1), ENODEV);
  EXPECT_EQ(create("mtty", "mtty-1", kUuid1), 0);
  fake().control("fail-remove EIO");
  const fs::path remove = fake().sys() / "bus/mdev/devices" / kUuid1 / "remove";
  EXPECT_EQ(write_sysfs(remove, "1"), EIO);
  EXPECT_EQ(write_sysfs(remove, "1"), 0);
  fake().control("deny-writes on");
  EXPECT_EQ(create("mtty", "mtty-1", kUuid1), EACCES);
}

TEST_F(FakeSysfsTest, AdvertisedCountCanBeStaleLikeTheKernels) {
  EXPECT_EQ(fake().try_control("set-instances mtty nosuch 1"), ENOENT);
  fake().control("set-pool mtty ports 0");
  fake().control("advertise mtty mtty-1 1");
  EXPECT_EQ(read(type_dir("mtty", "mtty-1") / "available_instances"), "1\n");
  EXPECT_EQ(create("mtty", "mtty-1", kUuid1), EUSERS);
}

TEST_F(FakeSysfsTest, ControlRefusesUnknownCommands) {
  EXPECT_EQ(fake().try_control("make-coffee"), EINVAL);
  EXPECT_EQ(fake().try_control("fail-create ENOTANERRNO"), EINVAL);
  EXPECT_EQ(fake().try_control(std::string("in-use ") + kUuid1 + " block"), ENOENT);
  EXPECT_FALSE(fs::exists(fake().sys() / "bus/mdev/devices" / kUuid1));
  // The control file is not listed, so tools walking the tree do not see it.
  for (const auto& entry : fs::directory_iterator(fake().sys()))
    EXPECT_NE(entry.path().filename(), ".control");
}

}  // namespace
}  // namespace mdevrun::testing

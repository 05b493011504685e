// Discovery on a plain folder tree shaped like sysfs (no FUSE needed): the parts where real sysfs
// has entries that are not UUIDs, which the fake does not produce on its own.

#include <gtest/gtest.h>

#include <fstream>

#include "base/error.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/mdev_plan.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUuid = "4dd50f26-ec08-11e8-b838-4bc3356865b6";

class DiscoveryTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path sys = tmp_.path() / "sys";
    host_ = {.sys = sys, .dev = tmp_.path() / "dev"};
    parent_ = sys / "devices/virtual/mtty/mtty";
    type_ = parent_ / "mdev_supported_types/mtty-1";
    fs::create_directories(type_ / "devices");
    fs::create_directories(sys / "class/mdev_bus");
    fs::create_directories(sys / "bus/mdev/devices");
    fs::create_directories(sys / "kernel/iommu_groups/7");
    fs::create_symlink("../../devices/virtual/mtty/mtty", sys / "class/mdev_bus/mtty");
    write(type_ / "available_instances", "23\n");
    write(type_ / "device_api", "vfio-pci\n");
    fs::create_directories(parent_ / kUuid);
    fs::create_symlink("../mdev_supported_types/mtty-1", parent_ / kUuid / "mdev_type");
    fs::create_symlink("../../../../../kernel/iommu_groups/7", parent_ / kUuid / "iommu_group");
    fs::create_symlink(std::string("../../../") + kUuid, type_ / "devices" / kUuid);
    fs::create_symlink(std::string("../../../devices/virtual/mtty/mtty/") + kUuid,
                       sys / "bus/mdev/devices" / kUuid);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  testing::TempDir tmp_;
  Host host_;
  fs::path parent_, type_;
};

TEST_F(DiscoveryTreeTest, IgnoresEntriesThatAreNotUuids) {
  write(type_ / "devices" / "README", "not a device");
  fs::create_directories(host_.sys / "bus/mdev/devices/power");
  const auto type = read_type(host_, "mtty", "mtty-1");
  ASSERT_TRUE(type);
  EXPECT_EQ(type->devices, (std::vector<std::string>{kUuid}));
  EXPECT_EQ(type->available_instances, 23);
  EXPECT_EQ(type->name, std::nullopt);
  const auto devices = list_devices(host_);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].parent, "mtty");
  EXPECT_EQ(devices[0].type, "mtty-1");
  EXPECT_EQ(devices[0].iommu_group, 7);
}

TEST_F(DiscoveryTreeTest, ATypeFolderWithoutAttributesIsNotAType) {
  fs::create_directories(parent_ / "mdev_supported_types/half-gone");
  const auto parents = list_parents(host_);
  ASSERT_EQ(parents.size(), 1u);
  ASSERT_EQ(parents[0].types.size(), 1u);
  EXPECT_EQ(parents[0].types[0].type, "mtty-1");
  EXPECT_FALSE(read_type(host_, "mtty", "../mtty"));
}

TEST_F(DiscoveryTreeTest, AnUnparsableCountIsAnErrorNamingTheFile) {
  write(type_ / "available_instances", "lots\n");
  try {
    list_parents(host_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    EXPECT_EQ(std::string(e.what()),
              "cannot parse " +
                  (host_.sys / "class/mdev_bus/mtty/mdev_supported_types/mtty-1/"
                               "available_instances")
                      .string() +
                  ": \"lots\" is not a count");
  }
}

TEST_F(DiscoveryTreeTest, ADeviceWithoutAGroupHasNone) {
  fs::remove(parent_ / kUuid / "iommu_group");
  EXPECT_EQ(find_device(host_, kUuid)->iommu_group, std::nullopt);
}

// The planner on the same tree: it only reads, and says why a plan is impossible.
MdevSpec spec(const char* id, std::optional<std::string> parent, const char* type) {
  MdevSpec s;
  s.id = id;
  s.parent = std::move(parent);
  s.type = type;
  return s;
}

TEST_F(DiscoveryTreeTest, PlanReusesTheDeviceWithTheUuid) {
  const MdevPlan plan = plan_mdev(host_, spec("s0", std::nullopt, "mtty-1"), kUuid);
  EXPECT_EQ(plan.action, MdevPlan::Action::reuse);
  EXPECT_EQ(plan.mdev.parent, "mtty");
  EXPECT_EQ(plan.mdev.iommu_group, 7);
  EXPECT_EQ(plan.mdev.sysfs_path, mdev_device_path(host_, kUuid));
  EXPECT_EQ(plan.note(), std::string("mdev ") + kUuid +
                             " (type \"mtty-1\" on mtty) exists: start would reuse it");
}

TEST_F(DiscoveryTreeTest, PlanCreatesOnAParentWithAFreeInstance) {
  const char* other = "00000000-0000-4000-8000-000000000001";
  const MdevPlan plan = plan_mdev(host_, spec("s0", std::nullopt, "mtty-1"), other);
  EXPECT_EQ(plan.action, MdevPlan::Action::create);
  ASSERT_EQ(plan.candidates.size(), 1u);
  EXPECT_EQ(plan.candidates[0].parent, "mtty");
  EXPECT_EQ(plan.note(), std::string("start would create mdev ") + other +
                             " of type \"mtty-1\" on mtty (23 free, parent picked automatically)");
  EXPECT_FALSE(fs::exists(host_.sys / "bus/mdev/devices" / other));  // nothing written
}

TEST_F(DiscoveryTreeTest, PlanRefusesADeviceOfAnotherTypeAndSuggestsTypes) {
  try {
    plan_mdev(host_, spec("s0", std::nullopt, "mtty-2"), kUuid);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    EXPECT_NE(std::string(e.what()).find("already exists as type \"mtty-1\""), std::string::npos);
  }
  try {
    plan_mdev(host_, spec("s0", "mtty", "mtty-l"), "00000000-0000-4000-8000-000000000001");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean \"mtty-1\"?"), std::string::npos)
        << e.what();
  }
}

TEST(MdevUuids, DerivedOrGivenAndNeverShared) {
  std::vector<MdevSpec> specs{spec("a", std::nullopt, "t"), spec("b", std::nullopt, "t")};
  specs[1].uuid = "4DD50F26-EC08-11E8-B838-4BC3356865B6";
  const auto uuids = mdev_uuids("desk", specs);
  EXPECT_EQ(uuids[1], kUuid);
  EXPECT_EQ(uuids[0].size(), 36u);
  specs[0].uuid = kUuid;
  EXPECT_THROW(mdev_uuids("desk", specs), Error);
  specs[0].uuid = "not-a-uuid";
  EXPECT_THROW(mdev_uuids("desk", specs), Error);
}

}  // namespace
}  // namespace mdevrun

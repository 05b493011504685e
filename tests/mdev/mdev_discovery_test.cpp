// Discovery against the fake sysfs: parents, types and their attributes, existing devices.

#include "devices/mdev_discovery.hpp"

#include <gtest/gtest.h>

#include "mdev_test_support.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;

using MdevDiscoveryTest = FuseTest;

TEST_F(MdevDiscoveryTest, ListsParentsAndTypesSortedWithTheirAttributes) {
  mount(kernel_like_config());
  const auto parents = list_parents(fake().host());
  ASSERT_EQ(parents.size(), 4u);
  EXPECT_EQ(parents[0].name, "0000:00:02.0");
  EXPECT_EQ(parents[1].name, "mbochs");
  EXPECT_EQ(parents[2].name, "mdpy");
  EXPECT_EQ(parents[3].name, "mtty");
  ASSERT_EQ(parents[0].types.size(), 4u);
  const MdevType& gvt = parents[0].types[2];
  EXPECT_EQ(gvt.parent, "0000:00:02.0");
  EXPECT_EQ(gvt.type, "i915-GVTg_V4_4");
  EXPECT_EQ(gvt.name, "GVTg_V4_4");
  EXPECT_EQ(gvt.description,
            "low_gm_size: 128MB, high_gm_size: 512MB, fence: 4, resolution: 1920x1200, weight: 4");
  EXPECT_EQ(gvt.device_api, "vfio-pci");
  EXPECT_EQ(gvt.available_instances, 4);
  EXPECT_TRUE(gvt.devices.empty());
  const MdevType& tty = parents[3].types[0];
  EXPECT_EQ(tty.type, "mtty-1");
  EXPECT_EQ(tty.name, "Single port serial");
  EXPECT_EQ(tty.description, std::nullopt);
  EXPECT_EQ(list_parent_names(fake().host()),
            (std::vector<std::string>{"0000:00:02.0", "mbochs", "mdpy", "mtty"}));
}

TEST_F(MdevDiscoveryTest, FindsAnExistingDevicesParentTypeAndGroupThroughItsLinks) {
  auto config = kernel_like_config();
  config["devices"] = {{{"uuid", kUuid2}, {"parent", "mdpy"}, {"type", "mdpy-xga"}},
                       {{"uuid", kUuid1}, {"parent", "mdpy"}, {"type", "mdpy-xga"}}};
  mount(config);
  const auto device = find_device(fake().host(), "4DD50F26-EC08-11E8-B838-4BC3356865B6");
  ASSERT_TRUE(device);
  EXPECT_EQ(device->uuid, kUuid1);
  EXPECT_EQ(device->parent, "mdpy");
  EXPECT_EQ(device->type, "mdpy-xga");
  EXPECT_EQ(device->iommu_group, 21);  // created second
  EXPECT_EQ(device->sysfs_path, fake().sys() / "bus/mdev/devices" / kUuid1);
  const auto type = read_type(fake().host(), "mdpy", "mdpy-xga");
  ASSERT_TRUE(type);
  EXPECT_EQ(type->devices, (std::vector<std::string>{kUuid1, kUuid2}));
  EXPECT_EQ(type->available_instances, 2);
  const auto all = list_devices(fake().host());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].uuid, kUuid1);
  EXPECT_EQ(all[1].iommu_group, 20);
  EXPECT_FALSE(find_device(fake().host(), "00000000-0000-4000-8000-000000000001"));
  EXPECT_FALSE(find_device(fake().host(), "not-a-uuid"));
}

TEST_F(MdevDiscoveryTest, AHostWithoutParentsHasNothing) {
  mount({{"parents", nlohmann::json::array()}});
  EXPECT_TRUE(list_parents(fake().host()).empty());
  EXPECT_TRUE(list_devices(fake().host()).empty());
  EXPECT_FALSE(read_type(fake().host(), "mtty", "mtty-1"));
  EXPECT_TRUE(list_parents({fake().dir() / "no-such-sys", fake().dev()}).empty());
}

}  // namespace
}  // namespace mdevrun::testing

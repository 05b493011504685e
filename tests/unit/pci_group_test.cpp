// The IOMMU-group rule (devices/pci_group.hpp) on a plain folder tree shaped like sysfs: the one
// rule ensure refuses by and check reports.
#include "devices/pci_group.hpp"

#include <gtest/gtest.h>

#include "pci_tree.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

using testing::PciTree;

class PciGroupTest : public ::testing::Test {
 protected:
  PciGroupTest() : tree_(tmp_.path() / "sys"), pci_(Host{.sys = tree_.sys()}) {}

  std::vector<std::string> blockers(const std::string& address, int group,
                                    const std::set<std::string>& allowed = {}) {
    std::vector<std::string> out;
    for (const auto& f : group_blockers(pci_, group, address, allowed))
      out.push_back(describe_function(f));
    return out;
  }

  testing::TempDir tmp_;
  PciTree tree_;
  PciSysfs pci_;
};

TEST_F(PciGroupTest, AloneOrWithBridgesIsViable) {
  tree_.add({.address = "0000:01:00.0", .driver = "e1000e", .iommu_group = 3});
  tree_.add({.address = "0000:00:1c.0",
             .class_code = "0x060400",
             .driver = "pcieport",
             .iommu_group = 3});
  EXPECT_TRUE(blockers("0000:01:00.0", 3).empty());
}

TEST_F(PciGroupTest, OthersBlockUnlessTheProfileTakesThemToo) {
  tree_.add({.address = "0000:01:00.0",
             .vendor = "0x10de",
             .device = "0x2684",
             .class_code = "0x030000",
             .driver = "nouveau",
             .iommu_group = 5});
  tree_.add({.address = "0000:01:00.1",
             .vendor = "0x10de",
             .device = "0x22ba",
             .class_code = "0x040300",
             .driver = "snd_hda_intel",
             .iommu_group = 5});
  tree_.add({.address = "0000:01:00.2",
             .vendor = "0x10de",
             .device = "0x1ada",
             .class_code = "0x0c0330",
             .iommu_group = 5});
  EXPECT_EQ(blockers("0000:01:00.0", 5),
            (std::vector<std::string>{"0000:01:00.1 (10de:22ba, driver snd_hda_intel)",
                                      "0000:01:00.2 (10de:1ada, no driver)"}));
  EXPECT_EQ(blockers("0000:01:00.0", 5, {"0000:01:00.1", "0000:01:00.2"}),
            std::vector<std::string>{});
}

TEST_F(PciGroupTest, WholeDeviceSlicesAreTheAllowedSet) {
  SliceSpec gpu, vf;
  gpu.id = "gpu";
  gpu.mechanism = SliceMechanism::pci;
  gpu.address = "0000:01:00.0";
  vf.id = "vf";
  vf.pf.address = "0000:00:02.0";
  EXPECT_EQ(whole_device_addresses({gpu, vf}), (std::set<std::string>{"0000:01:00.0"}));
}

}  // namespace
}  // namespace mdevrun

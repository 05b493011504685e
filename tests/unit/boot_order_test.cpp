#include "qemu/boot_order.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

Profile with_boot(std::vector<BootDevice> boot, std::size_t disks) {
  Profile p;
  p.boot = std::move(boot);
  p.disks.resize(disks);
  p.network.resize(2);
  return p;
}

TEST(BootOrder, NumbersFromOneInTheProfilesOrderAndDiskTakesOneNumberPerDisk) {
  const auto b = boot_indexes(
      with_boot({BootDevice::network, BootDevice::disk, BootDevice::cdrom}, /*disks=*/3));
  EXPECT_EQ(b.nic(0), 1);
  EXPECT_EQ(b.nic(1), 0);  // the first NIC only
  EXPECT_EQ(b.disk(0), 2);
  EXPECT_EQ(b.disk(2), 4);
  EXPECT_EQ(b.cdrom, 5);
}

TEST(BootOrder, NoBootListLeavesEveryDeviceToTheFirmware) {
  const auto b = boot_indexes(with_boot({}, 2));
  EXPECT_EQ(b.cdrom, 0);
  EXPECT_EQ(b.disk(0), 0);
  EXPECT_EQ(b.disk(1), 0);
  EXPECT_EQ(b.nic(0), 0);
}

TEST(BootOrder, DiskWithoutDisksTakesNoNumber) {
  const auto b = boot_indexes(with_boot({BootDevice::disk, BootDevice::cdrom}, 0));
  EXPECT_EQ(b.cdrom, 1);
}

}  // namespace
}  // namespace mdevrun

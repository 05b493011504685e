// The pure parts of the PCI layer: addresses, ids, NVIDIA's type list, VF routing ids.
#include <gtest/gtest.h>

#include "base/pci_address.hpp"
#include "devices/pci_sysfs.hpp"

namespace mdevrun {
namespace {

TEST(PciAddress, NormalizesAndRefuses) {
  EXPECT_EQ(normalize_pci_address("00:02.0"), "0000:00:02.0");
  EXPECT_EQ(normalize_pci_address("0000:3B:00.7"), "0000:3b:00.7");
  EXPECT_EQ(normalize_pci_address("0000:00:20.0"), std::nullopt);  // device > 0x1f
  EXPECT_EQ(normalize_pci_address("0000:00:02.8"), std::nullopt);
  EXPECT_EQ(normalize_pci_address("../../etc"), std::nullopt);
  EXPECT_EQ(normalize_pci_address("0000:00:02.0/"), std::nullopt);
}

TEST(PciAddress, VendorDeviceIds) {
  EXPECT_EQ(parse_pci_id("8086:A7A0"), (PciId{0x8086, 0xa7a0}));
  EXPECT_EQ(parse_pci_id("0x10de:0x26b9"), (PciId{0x10de, 0x26b9}));
  EXPECT_EQ(parse_pci_id("8086"), std::nullopt);
  EXPECT_EQ(parse_pci_id("8086:12345"), std::nullopt);
  EXPECT_EQ(to_string(PciId{0x1b36, 0x10}), "1b36:0010");
  EXPECT_EQ(parse_sysfs_hex("0x030000\n"), 0x030000u);
  EXPECT_EQ(parse_sysfs_hex("zz"), std::nullopt);
}

TEST(PciSysfs, ParsesNvidiaCreatableTypes) {
  // As the vGPU 17 host driver prints it: a header, then "%-5d : %s".
  const std::string text =
      "ID    : vGPU Name\n"
      "1148  : NVIDIA L40S-2Q\n"
      "1150  : NVIDIA L40S-4Q\n"
      "\n";
  const auto types = parse_creatable_vgpu_types(text);
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0], (NvidiaVgpuType{1148, "NVIDIA L40S-2Q"}));
  EXPECT_EQ(types[1], (NvidiaVgpuType{1150, "NVIDIA L40S-4Q"}));
  EXPECT_TRUE(parse_creatable_vgpu_types("ID    : vGPU Name\n").empty());
}

TEST(PciSysfs, VfAddressesFollowOffsetAndStride) {
  EXPECT_EQ(vf_address("0000:00:04.0", 1, 1, 0), "0000:00:04.1");
  EXPECT_EQ(vf_address("0000:00:04.0", 1, 1, 7), "0000:00:05.0");  // function wraps into device
  EXPECT_EQ(vf_address("0000:41:00.0", 4, 1, 0), "0000:41:00.4");
  EXPECT_EQ(vf_address("0000:03:00.0", 0x80, 2, 1), "0000:03:10.2");
  EXPECT_EQ(vf_address("0000:ff:1f.7", 1, 1, 0), std::nullopt);  // past the last bus
}

}  // namespace
}  // namespace mdevrun

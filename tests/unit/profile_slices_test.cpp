// slices[]: the PCI mechanisms (vf, nvidia-vgpu, pci) and mdevs written as slices.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {
namespace {

Profile parse(const std::string& text) {
  return profile_from_document(parse_profile_document(text, "vm.json", "/p"));
}

std::string error_of(const std::string& slices) {
  try {
    parse(R"({"name": "vm", "slices": )" + slices + "}");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    return e.what();
  }
  return "<no error>";
}

TEST(ProfileSlices, VfByAddressWithCountAndIndex) {
  const Profile p = parse(R"({"name": "vm", "slices": [
    {"id": "gpu", "mechanism": "vf", "pf": "00:02.0", "numvfs": 4, "vf": 2, "rombar": false}]})");
  ASSERT_EQ(p.slices.size(), 1u);
  const SliceSpec& s = p.slices[0];
  EXPECT_EQ(s.mechanism, SliceMechanism::vf);
  EXPECT_EQ(s.pf.address, "0000:00:02.0");
  EXPECT_EQ(s.numvfs, 4);
  EXPECT_EQ(s.vf, 2);
  EXPECT_EQ(s.rombar, false);
  EXPECT_TRUE(p.mdevs.empty());
}

TEST(ProfileSlices, VfByVendorDeviceAndDriver) {
  const Profile p = parse(R"({"name": "vm", "slices": [
    {"id": "gpu", "mechanism": "vf", "pf-vendor-device": "8086:A7A0", "pf-driver": "xe"}]})");
  EXPECT_EQ(p.slices[0].pf.vendor_device, "8086:a7a0");
  EXPECT_EQ(p.slices[0].pf.driver, "xe");
  EXPECT_FALSE(p.slices[0].numvfs);
}

TEST(ProfileSlices, NvidiaTypeByIdOrName) {
  const Profile p = parse(R"({"name": "vm", "slices": [
    {"id": "a", "mechanism": "nvidia-vgpu", "vgpu-type": 1148, "display": "on", "ramfb": true},
    {"id": "b", "mechanism": "nvidia-vgpu", "vgpu-type": "NVIDIA L40S-2Q", "pf": "0000:41:00.0"}]})");
  EXPECT_EQ(p.slices[0].vgpu_type_id, 1148);
  EXPECT_TRUE(p.slices[0].ramfb);
  EXPECT_EQ(p.slices[0].display, OnOffAuto::on);
  EXPECT_EQ(p.slices[1].vgpu_type_name, "NVIDIA L40S-2Q");
  EXPECT_FALSE(p.slices[0].pf.any());  // auto-pick an NVIDIA PF
}

TEST(ProfileSlices, WholeDevice) {
  const Profile p = parse(
      R"({"name": "vm", "slices": [{"id": "nic", "mechanism": "pci", "address": "0000:01:00.0"}]})");
  EXPECT_EQ(p.slices[0].mechanism, SliceMechanism::pci);
  EXPECT_EQ(p.slices[0].address, "0000:01:00.0");
}

TEST(ProfileSlices, MdevMechanismIsAnMdev) {
  const Profile p = parse(R"({"name": "vm", "slices": [
    {"id": "tty", "mechanism": "mdev", "parent": "mtty", "type": "mtty-2"}]})");
  ASSERT_EQ(p.mdevs.size(), 1u);
  EXPECT_EQ(p.mdevs[0].type, "mtty-2");
  EXPECT_TRUE(p.slices.empty());
}

TEST(ProfileSlices, ErrorsNameTheFieldAndTheFix) {
  EXPECT_EQ(error_of(R"([{"id": "g", "mechanism": "sriov"}])"),
            "vm.json:1: /slices/0/mechanism: \"sriov\" is not one of \"mdev\", \"vf\", "
            "\"nvidia-vgpu\" or \"pci\"");
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "vf", "pf": "0000:00:02.0", "numvf": 2}])")
                .find("unknown key \"numvf\"; did you mean \"numvfs\"?"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "vf"}])")
                .find("a vf slice needs its physical "
                      "function"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "vf", "pf": "0000:00:02.0", "display": "on"}])")
                .find("has no display of its own"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"([{"id": "g", "mechanism": "pci", "address": "0000:01:00.0", "ramfb": true}])")
          .find("ramfb needs a device with a vfio display"),
      std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "pci", "address": "01:00"}])")
                .find("is not a PCI address"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "nvidia-vgpu"}])")
                .find("missing required key \"vgpu-type\""),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "nvidia-vgpu", "vgpu-type": -3}])")
                .find("expected a vGPU type id"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "g", "mechanism": "vf", "pf": "0000:00:02.0", "numvfs": 2,
                         "vf": 2}])")
                .find("VFs count from 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "a", "mechanism": "pci", "address": "0000:01:00.0"},
                         {"id": "b", "mechanism": "pci", "address": "0000:01:00.0"}])")
                .find("a device can go to a VM once"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": "a", "mechanism": "pci", "address": "0000:01:00.0"},
                         {"id": "a", "mechanism": "pci", "address": "0000:02:00.0"}])")
                .find("duplicate id"),
            std::string::npos);
}

}  // namespace
}  // namespace mdevrun

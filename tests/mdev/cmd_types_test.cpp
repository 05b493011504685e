// `mdevrun types` as a user runs it: the real binary, pointed at the fake sysfs through
// MDEVRUN_SYSFS_ROOT.

#include <gtest/gtest.h>

#include "devices/pci_sysfs.hpp"
#include "mdev_test_support.hpp"

namespace mdevrun::testing {
namespace {

class CmdTypesTest : public FuseTest {
 protected:
  CommandResult types(const std::string& args = "") {
    return run_shell("env MDEVRUN_SYSFS_ROOT=" + fake().sys().string() + " MDEVRUN_DEV_ROOT=" +
                     fake().dev().string() + " " + MDEVRUN_BIN + " types" + args);
  }
  nlohmann::json config() {
    return nlohmann::json::parse(R"({
      "parents": [
        {"name": "mtty", "pools": {"ports": 24}, "types": [
          {"type": "mtty-2", "name": "Dual-port serial", "pool": "ports", "cost": 2},
          {"type": "mtty-1", "name": "Single port serial", "pool": "ports"}]},
        {"name": "0000:00:02.0", "types": [
          {"type": "i915-GVTg_V4_4", "name": "GVTg_V4_4", "instances": 2,
           "description": "low_gm_size: 128MB\nfence: 4\n"}]}],
      "devices": [
        {"uuid": "8a6b1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "parent": "0000:00:02.0", "type": "i915-GVTg_V4_4"},
        {"uuid": "4dd50f26-ec08-11e8-b838-4bc3356865b6", "parent": "0000:00:02.0", "type": "i915-GVTg_V4_4"}]
    })");
  }
};

TEST_F(CmdTypesTest, PrintsASortedTable) {
  mount(config());
  const auto r = types();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "PARENT        TYPE            NAME                AVAILABLE  API       DEVICES" +
                std::string(73 - 7 + 2, ' ') + "DESCRIPTION\n" +
                "0000:00:02.0  i915-GVTg_V4_4  GVTg_V4_4           0          vfio-pci  "
                "4dd50f26-ec08-11e8-b838-4bc3356865b6,8a6b1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b  "
                "low_gm_size: 128MB, fence: 4\n"
                "mtty          mtty-1          Single port serial  24         vfio-pci  -\n"
                "mtty          mtty-2          Dual-port serial    12         vfio-pci  -\n");
}

TEST_F(CmdTypesTest, PrintsJsonForScripts) {
  mount(config());
  const auto r = types(" --json");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse(R"([
    {"parent": "0000:00:02.0", "type": "i915-GVTg_V4_4", "name": "GVTg_V4_4",
     "available_instances": 0, "device_api": "vfio-pci", "description": "low_gm_size: 128MB, fence: 4",
     "devices": ["4dd50f26-ec08-11e8-b838-4bc3356865b6", "8a6b1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"]},
    {"parent": "mtty", "type": "mtty-1", "name": "Single port serial", "available_instances": 24,
     "device_api": "vfio-pci", "description": null, "devices": []},
    {"parent": "mtty", "type": "mtty-2", "name": "Dual-port serial", "available_instances": 12,
     "device_api": "vfio-pci", "description": null, "devices": []}
  ])"));
}

TEST_F(CmdTypesTest, AnEmptyHostSaysSoAndPointsToCheck) {
  mount({{"parents", nlohmann::json::array()}});
  const auto r = types();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "no mdev-capable device is registered (" + fake().sys().string() +
                       "/class/mdev_bus is empty or missing): load a mediated-device driver; run "
                       "`mdevrun check` for details\n");
  EXPECT_EQ(types(" --json").out, "[]\n");
}

}  // namespace
}  // namespace mdevrun::testing

namespace mdevrun::testing {
namespace {

// SR-IOV PFs after the mdev types: each VF with its driver and group, NVIDIA's vGPU types per VF.
TEST_F(CmdTypesTest, ListsSriovPfsTheirVfsAndNvidiaTypes) {
  mount(pci_like_config());
  PciSysfs pci(fake().host());
  ASSERT_EQ(pci.write_numvfs("0000:41:00.0", 4), 0);
  ASSERT_EQ(pci.write_vgpu_type("0000:41:00.4", 1148), 0);
  const auto r = types();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("SR-IOV physical functions:\n"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find("PF 0000:03:00.0  1b36:0010  driver nvme  VFs 0 of 2  autoprobe 1\n"
                 "  no VFs enabled: a \"vf\" or \"nvidia-vgpu\" slice enables them at start\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  VF 0  0000:41:00.4  driver nvidia  group "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vGPU 1148  creatable: 1148 NVIDIA L40S-2Q\n"), std::string::npos) << r.out;
  const auto j = types(" --json");
  ASSERT_EQ(j.exit_code, 0);
  const auto all = nlohmann::json::parse(j.out);
  bool found = false;
  for (const auto& e : all) {
    if (e.value("kind", "") != "sriov-pf" || e["address"] != "0000:41:00.0") continue;
    found = true;
    EXPECT_EQ(e["numvfs"], 4);
    EXPECT_EQ(e["vfs"][0]["vgpu_type"], 1148);
    EXPECT_EQ(e["vfs"][1]["creatable_vgpu_types"][0]["name"], "NVIDIA L40S-2Q");
  }
  EXPECT_TRUE(found) << j.out;
}

}  // namespace
}  // namespace mdevrun::testing

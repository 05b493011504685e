// The fake sysfs's PCI side: SR-IOV, driver binding and NVIDIA's vGPU VF interface must behave like
// Linux 6.1 (tests/support/fake_sysfs/README.md, "PCI"), or a backend tested against it proves
// nothing. Every check goes through real file I/O on the mount.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "mdev_test_support.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNvme = "0000:03:00.0";
constexpr const char* kNic = "0000:00:19.0";
constexpr const char* kBridge = "0000:00:1c.0";
constexpr const char* kNic2 = "0000:00:1c.1";
constexpr const char* kGpu = "0000:41:00.0";
constexpr const char* kXe = "0000:00:02.0";

class FakeSysfsPciTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    mount(pci_like_config());
  }
  fs::path sys() { return fake().sys(); }
  fs::path dev(const std::string& address) { return sys() / "bus/pci/devices" / address; }
  fs::path driver_dir(const std::string& driver) { return sys() / "bus/pci/drivers" / driver; }
  std::string read(const fs::path& path) { return read_sysfs(path).value_or("<unreadable>"); }
  int write(const fs::path& path, const std::string& value) { return write_sysfs(path, value); }
  int bind(const std::string& driver, const std::string& address) {
    return write(driver_dir(driver) / "bind", address);
  }
  int unbind(const std::string& driver, const std::string& address) {
    return write(driver_dir(driver) / "unbind", address);
  }
  int probe(const std::string& address) { return write(sys() / "bus/pci/drivers_probe", address); }
  int numvfs(const std::string& pf, const std::string& value) {
    return write(dev(pf) / "sriov_numvfs", value);
  }
  /// The bound driver's name from the `driver` link, "" when unbound.
  std::string driver_of(const std::string& address) {
    std::error_code ec;
    const fs::path link = fs::read_symlink(dev(address) / "driver", ec);
    return ec ? "" : link.filename().string();
  }
  /// The IOMMU group number from the `iommu_group` link.
  std::string group_of(const std::string& address) {
    return fs::read_symlink(dev(address) / "iommu_group").filename().string();
  }
  bool vfio_node(const std::string& group) { return fs::exists(fake().dev() / "vfio" / group); }
  /// Moves a device to vfio-pci the way an admin does: unbind, override, drivers_probe.
  void to_vfio(const std::string& address) {
    if (const std::string driver = driver_of(address); !driver.empty()) {
      ASSERT_EQ(unbind(driver, address), 0);
    }
    ASSERT_EQ(write(dev(address) / "driver_override", "vfio-pci"), 0);
    ASSERT_EQ(probe(address), 0);
    ASSERT_EQ(driver_of(address), "vfio-pci");
  }
  nlohmann::json status_of(const std::string& address) {
    const nlohmann::json status = fake().status();  // not in the for: it would dangle
    for (const auto& d : status["pci"])
      if (d["address"] == address) return d;
    return nullptr;
  }
  fs::path nv(const std::string& vf) { return dev(vf) / "nvidia"; }
};

TEST_F(FakeSysfsPciTest, LaysOutDevicesLikeSysfs) {
  const fs::path real = sys() / "devices/pci0000:00" / kNvme;
  EXPECT_EQ(fs::read_symlink(dev(kNvme)), fs::path("../../../devices/pci0000:00") / kNvme);
  EXPECT_EQ(read(real / "vendor"), "0x1b36\n");
  EXPECT_EQ(read(real / "device"), "0x0010\n");
  EXPECT_EQ(read(real / "class"), "0x010802\n");
  EXPECT_EQ(read(real / "driver_override"), "(null)\n");
  EXPECT_EQ(fs::read_symlink(real / "iommu_group"), "../../../kernel/iommu_groups/7");
  EXPECT_EQ(fs::canonical(sys() / "kernel/iommu_groups/7/devices" / kNvme), real);
  EXPECT_EQ(fs::read_symlink(real / "driver"), "../../../bus/pci/drivers/nvme");
  EXPECT_EQ(fs::canonical(driver_dir("nvme") / kNvme), real);
  EXPECT_EQ(read(real / "sriov_totalvfs"), "2\n");
  EXPECT_EQ(read(real / "sriov_numvfs"), "0\n");
  EXPECT_EQ(read(real / "sriov_offset"), "1\n");
  EXPECT_EQ(read(real / "sriov_stride"), "1\n");
  EXPECT_EQ(read(real / "sriov_vf_device"), "10\n");  // the kernel's "%x\n"
  EXPECT_EQ(read(real / "sriov_drivers_autoprobe"), "1\n");
  EXPECT_FALSE(fs::exists(real / "virtfn0"));
  EXPECT_FALSE(fs::exists(dev(kNic) / "sriov_numvfs"));  // not a PF
  for (const char* driver : {"nvme", "e1000e", "vfio-pci", "xe", "nvidia", "pcieport"}) {
    EXPECT_TRUE(fs::exists(driver_dir(driver) / "bind")) << driver;
    EXPECT_TRUE(fs::exists(driver_dir(driver) / "unbind")) << driver;
  }
  // Groups: given ones kept, the others from 40 up in config order, lowest free first.
  EXPECT_EQ(group_of(kNic), "40");
  EXPECT_EQ(group_of(kBridge), "9");
  EXPECT_EQ(group_of(kNic2), "9");
  EXPECT_EQ(group_of(kGpu), "41");
  EXPECT_EQ(group_of(kXe), "42");
  EXPECT_TRUE(fs::exists(sys() / "kernel/iommu_groups/9/devices" / kBridge));
  EXPECT_TRUE(fs::exists(sys() / "kernel/iommu_groups/9/devices" / kNic2));
  EXPECT_EQ(driver_of(kBridge), "pcieport");
  EXPECT_FALSE(fs::exists(fake().dev() / "vfio"));  // nothing on vfio-pci yet
  // Store-only files cannot be read, read-only ones not written: EACCES, even for root.
  int error = 0;
  EXPECT_FALSE(read_sysfs(driver_dir("nvme") / "bind", &error));
  EXPECT_EQ(error, EACCES);
  EXPECT_FALSE(read_sysfs(sys() / "bus/pci/drivers_probe", &error));
  EXPECT_EQ(error, EACCES);
  EXPECT_EQ(write(real / "sriov_totalvfs", "1"), EACCES);
  EXPECT_EQ(write(real / "vendor", "0x8086"), EACCES);
}

TEST_F(FakeSysfsPciTest, NumvfsMakesVfsBoundToTheVfDriver) {
  ASSERT_EQ(numvfs(kNvme, "2\n"), 0);
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "2\n");
  const fs::path pf = sys() / "devices/pci0000:00" / kNvme;
  EXPECT_EQ(fs::read_symlink(pf / "virtfn0"), "../0000:03:00.1");
  EXPECT_EQ(fs::read_symlink(pf / "virtfn1"), "../0000:03:00.2");
  EXPECT_FALSE(fs::exists(pf / "virtfn2"));
  for (const char* vf : {"0000:03:00.1", "0000:03:00.2"}) {
    const fs::path real = sys() / "devices/pci0000:00" / vf;
    EXPECT_EQ(fs::canonical(dev(vf)), real);
    EXPECT_EQ(fs::read_symlink(real / "physfn"), fs::path("..") / kNvme);
    EXPECT_EQ(read(real / "vendor"), "0x1b36\n");
    EXPECT_EQ(read(real / "device"), "0x0010\n");
    EXPECT_EQ(read(real / "class"), "0x010802\n");
    EXPECT_EQ(read(real / "driver_override"), "(null)\n");
    EXPECT_FALSE(fs::exists(real / "sriov_numvfs"));  // a VF is no PF
    EXPECT_EQ(driver_of(vf), "nvme");
    EXPECT_EQ(fs::canonical(driver_dir("nvme") / vf), real);
  }
  // Each VF its own group, lowest free from 40 (40..42 taken).
  EXPECT_EQ(group_of("0000:03:00.1"), "43");
  EXPECT_EQ(group_of("0000:03:00.2"), "44");
  EXPECT_TRUE(fs::exists(sys() / "kernel/iommu_groups/44/devices/0000:03:00.2"));

  ASSERT_EQ(numvfs(kNvme, "0"), 0);
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "0\n");
  for (const char* vf : {"0000:03:00.1", "0000:03:00.2"}) {
    EXPECT_FALSE(fs::exists(dev(vf)));
    EXPECT_FALSE(fs::exists(sys() / "devices/pci0000:00" / vf));
    EXPECT_FALSE(fs::is_symlink(driver_dir("nvme") / vf));
  }
  EXPECT_FALSE(fs::is_symlink(pf / "virtfn0"));
  EXPECT_FALSE(fs::exists(sys() / "kernel/iommu_groups/43"));
  EXPECT_FALSE(fs::exists(sys() / "kernel/iommu_groups/44"));
  EXPECT_EQ(driver_of(kNvme), "nvme");  // the PF keeps its driver
}

TEST_F(FakeSysfsPciTest, XeVfsFillTheFunctionsOfTheSlot) {
  ASSERT_EQ(numvfs(kXe, "7"), 0);
  for (int k = 0; k < 7; ++k) {
    const std::string vf = "0000:00:02." + std::to_string(k + 1);
    EXPECT_EQ(fs::read_symlink(dev(kXe) / ("virtfn" + std::to_string(k))), "../" + vf);
    EXPECT_EQ(driver_of(vf), "xe") << vf;
    EXPECT_EQ(read(dev(vf) / "device"), "0xa7a0\n");
  }
  EXPECT_EQ(numvfs(kXe, "8"), ERANGE);
}

TEST_F(FakeSysfsPciTest, VfAddressesCarryIntoDeviceAndBusLikeTheKernel) {
  // pci_iov_virtfn_bus/devfn: devfn + offset + k * stride, carrying into the slot and the bus.
  mount({{"pci",
          {{"drivers", {"nvme"}},
           {"devices",
            {{{"address", "0000:05:1f.6"},
              {"vendor", "0x1b36"},
              {"device", "0x0010"},
              {"driver", "nvme"},
              {"sriov", {{"totalvfs", 3}, {"offset", 1}, {"stride", 1}}}},
             {{"address", "0000:07:00.0"},
              {"vendor", "0x1b36"},
              {"device", "0x0010"},
              {"driver", "nvme"},
              {"sriov", {{"totalvfs", 2}, {"offset", 8}, {"stride", 8}}}}}}}}});
  ASSERT_EQ(numvfs("0000:05:1f.6", "3"), 0);
  EXPECT_EQ(fs::read_symlink(dev("0000:05:1f.6") / "virtfn0"), "../0000:05:1f.7");
  EXPECT_EQ(fs::read_symlink(dev("0000:05:1f.6") / "virtfn1"), "../0000:06:00.0");
  EXPECT_EQ(fs::read_symlink(dev("0000:05:1f.6") / "virtfn2"), "../0000:06:00.1");
  EXPECT_EQ(fs::read_symlink(dev("0000:06:00.1") / "physfn"), "../0000:05:1f.6");
  ASSERT_EQ(numvfs("0000:07:00.0", "2"), 0);
  EXPECT_EQ(fs::read_symlink(dev("0000:07:00.0") / "virtfn0"), "../0000:07:01.0");
  EXPECT_EQ(fs::read_symlink(dev("0000:07:00.0") / "virtfn1"), "../0000:07:02.0");
}

TEST_F(FakeSysfsPciTest, ConfigWhoseVfsOverlapADeviceOrPassBusFfIsRefused) {
  const auto pf = [](const std::string& address, int totalvfs) {
    return nlohmann::json{{"address", address},
                          {"vendor", "0x1b36"},
                          {"device", "0x0010"},
                          {"sriov", {{"totalvfs", totalvfs}, {"offset", 1}, {"stride", 1}}}};
  };
  const nlohmann::json overlap = {
      {"pci", {{"devices", {pf("0000:03:00.0", 2), pf("0000:03:00.2", 1)}}}}};
  EXPECT_THROW(FakeSysfs{overlap}, std::runtime_error);
  const nlohmann::json past_ff = {{"pci", {{"devices", {pf("0000:ff:1f.7", 1)}}}}};
  EXPECT_THROW(FakeSysfs{past_ff}, std::runtime_error);
}

TEST_F(FakeSysfsPciTest, NumvfsWithAutoprobeOffLeavesVfsUnboundUntilOverridden) {
  ASSERT_EQ(write(dev(kNvme) / "sriov_drivers_autoprobe", "0\n"), 0);
  EXPECT_EQ(read(dev(kNvme) / "sriov_drivers_autoprobe"), "0\n");
  ASSERT_EQ(numvfs(kNvme, "2"), 0);
  const std::string vf = "0000:03:00.1";
  EXPECT_EQ(driver_of(vf), "");
  EXPECT_FALSE(fs::is_symlink(dev(vf) / "driver"));
  // pci_device_can_probe(): no driver may probe the VF, not even by an explicit bind or probe...
  EXPECT_EQ(bind("nvme", vf), ENODEV);
  EXPECT_EQ(probe(vf), 0);
  EXPECT_EQ(driver_of(vf), "");
  // ...until it has a driver_override.
  ASSERT_EQ(write(dev(vf) / "driver_override", "vfio-pci\n"), 0);
  ASSERT_EQ(probe(vf), 0);
  EXPECT_EQ(driver_of(vf), "vfio-pci");
  EXPECT_TRUE(vfio_node(group_of(vf)));
  // Autoprobe is read at probe time: turned on again, the other VF probes to its driver.
  ASSERT_EQ(write(dev(kNvme) / "sriov_drivers_autoprobe", "1"), 0);
  ASSERT_EQ(probe("0000:03:00.2"), 0);
  EXPECT_EQ(driver_of("0000:03:00.2"), "nvme");
}

TEST_F(FakeSysfsPciTest, NumvfsAnswersTheKernelsErrnos) {
  EXPECT_EQ(numvfs(kNvme, "3"), ERANGE);  // > sriov_totalvfs
  EXPECT_EQ(numvfs(kNvme, "x"), EINVAL);
  EXPECT_EQ(numvfs(kNvme, "1 "), EINVAL);  // kstrtou16: only one '\n' may follow
  EXPECT_EQ(numvfs(kNvme, "1\n\n"), EINVAL);
  EXPECT_EQ(numvfs(kNvme, "-1"), EINVAL);
  EXPECT_EQ(numvfs(kNvme, "65536"), EINVAL);  // kstrtou16's ERANGE is EINVAL here
  EXPECT_EQ(numvfs(kNvme, "\n"), EINVAL);
  EXPECT_EQ(numvfs(kNvme, "0"), 0);  // == current: nothing to do
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "0\n");
  ASSERT_EQ(numvfs(kNvme, "0x1"), 0);  // base 0: hex
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "1\n");
  EXPECT_EQ(numvfs(kNvme, "+1\n"), 0);   // == current
  EXPECT_EQ(numvfs(kNvme, "2"), EBUSY);  // "1 VFs already enabled. Disable before enabling 2"
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "1\n");
  ASSERT_EQ(numvfs(kNvme, "0"), 0);
  // No driver on the PF: "no driver bound to device; cannot configure SR-IOV".
  ASSERT_EQ(unbind("nvme", kNvme), 0);
  EXPECT_EQ(numvfs(kNvme, "1"), ENOENT);
  EXPECT_EQ(numvfs(kNvme, "3"), ERANGE);  // checked before the driver
  EXPECT_EQ(numvfs(kNvme, "0"), 0);       // == current: before the driver too
  // vfio-pci on the PF: its sriov_configure refuses (enable_sriov=N), ENOENT as well.
  ASSERT_EQ(bind("vfio-pci", kNvme), 0);
  EXPECT_EQ(numvfs(kNvme, "1"), ENOENT);
  ASSERT_EQ(unbind("vfio-pci", kNvme), 0);
  ASSERT_EQ(bind("nvme", kNvme), 0);
  EXPECT_EQ(numvfs(kNvme, "2"), 0);
}

TEST_F(FakeSysfsPciTest, AutoprobeParsesLikeKstrtobool) {
  const fs::path file = dev(kNvme) / "sriov_drivers_autoprobe";
  const std::pair<const char*, const char*> accepted[] = {
      {"n", "0\n"},    {"Y\n", "1\n"}, {"off", "0\n"}, {"on\n", "1\n"}, {"false", "0\n"},
      {"true", "1\n"}, {"0", "0\n"},   {"1", "1\n"},   {"no", "0\n"},   {"1garbage", "1\n"}};
  for (const auto& [value, shown] : accepted) {
    EXPECT_EQ(write(file, value), 0) << value;
    EXPECT_EQ(read(file), shown) << value;
  }
  for (const char* value : {"2", "\n", "x", "o", "oz", " 1"})
    EXPECT_EQ(write(file, value), EINVAL) << value;
  EXPECT_EQ(read(file), "1\n");
}

TEST_F(FakeSysfsPciTest, DriverOverrideStoresUpToTheNewlineAndClears) {
  const fs::path file = dev(kNic) / "driver_override";
  ASSERT_EQ(write(file, "vfio-pci\n"), 0);
  EXPECT_EQ(read(file), "vfio-pci\n");
  ASSERT_EQ(write(file, "pci-stub\nrest"), 0);  // only up to the first newline
  EXPECT_EQ(read(file), "pci-stub\n");
  ASSERT_EQ(write(file, "\n"), 0);
  EXPECT_EQ(read(file), "(null)\n");
  ASSERT_EQ(write(file, "vfio-pci"), 0);
  ASSERT_EQ(write(file, std::string("\0x", 2)), 0);  // empty as a C string: clears
  EXPECT_EQ(read(file), "(null)\n");
  EXPECT_EQ(write(file, std::string(4095, 'a')), EINVAL);  // no room for the "\n" of show
  EXPECT_EQ(read(file), "(null)\n");
}

TEST_F(FakeSysfsPciTest, OverrideAndDriversProbeHandTheNicToVfioPciAndBack) {
  ASSERT_EQ(write(dev(kNic) / "driver_override", "vfio-pci"), 0);
  ASSERT_EQ(probe(kNic), 0);  // already bound: nothing changes
  EXPECT_EQ(driver_of(kNic), "e1000e");
  ASSERT_EQ(unbind("e1000e", kNic + std::string("\n")), 0);
  EXPECT_EQ(driver_of(kNic), "");
  EXPECT_FALSE(fs::is_symlink(driver_dir("e1000e") / kNic));
  EXPECT_FALSE(vfio_node("40"));
  ASSERT_EQ(probe(kNic + std::string("\n")), 0);
  EXPECT_EQ(fs::read_symlink(dev(kNic) / "driver"), "../../../bus/pci/drivers/vfio-pci");
  EXPECT_EQ(fs::canonical(driver_dir("vfio-pci") / kNic), sys() / "devices/pci0000:00" / kNic);
  EXPECT_TRUE(fs::is_regular_file(fake().dev() / "vfio/40"));
  // Give it back: unbind, clear the override, probe: the native driver again, the node gone.
  ASSERT_EQ(unbind("vfio-pci", kNic), 0);
  EXPECT_FALSE(vfio_node("40"));
  ASSERT_EQ(write(dev(kNic) / "driver_override", "\n"), 0);
  ASSERT_EQ(probe(kNic), 0);
  EXPECT_EQ(driver_of(kNic), "e1000e");
  EXPECT_EQ(probe("0000:00:19.7"), ENODEV);  // no such device
}

TEST_F(FakeSysfsPciTest, BindAndUnbindAnswerTheKernelsErrnos) {
  EXPECT_EQ(bind("e1000e", "0000:00:19.7"), ENODEV);           // no such device
  EXPECT_EQ(bind("e1000e", kNic + std::string(" ")), ENODEV);  // sysfs_streq: only a '\n'
  EXPECT_EQ(bind("e1000e", kNic), EBUSY);                      // matches, but bound
  EXPECT_EQ(bind("vfio-pci", kNic), EBUSY);
  EXPECT_EQ(bind("nvme", kNic), ENODEV);    // no match: ENODEV even though bound
  EXPECT_EQ(unbind("nvme", kNic), ENODEV);  // not bound to nvme
  ASSERT_EQ(unbind("e1000e", kNic), 0);
  EXPECT_EQ(unbind("e1000e", kNic), ENODEV);
  EXPECT_EQ(bind("nvme", kNic), ENODEV);  // not its hardware
  ASSERT_EQ(write(dev(kNic) / "driver_override", "nvme"), 0);
  EXPECT_EQ(bind("e1000e", kNic), ENODEV);  // the override lets only nvme match...
  EXPECT_EQ(bind("nvme", kNic), ENODEV);    // ...whose probe refuses the NIC
  EXPECT_EQ(probe(kNic), 0);                // no driver takes it: still success
  EXPECT_EQ(driver_of(kNic), "");
  ASSERT_EQ(write(dev(kNic) / "driver_override", "\n"), 0);
  ASSERT_EQ(bind("e1000e", kNic + std::string("\n")), 0);
  EXPECT_EQ(driver_of(kNic), "e1000e");
  // vfio-pci takes a device without an override on an explicit bind (see README).
  ASSERT_EQ(unbind("e1000e", kNic), 0);
  ASSERT_EQ(bind("vfio-pci", kNic), 0);
  EXPECT_EQ(driver_of(kNic), "vfio-pci");
}

TEST_F(FakeSysfsPciTest, ABridgeInTheGroupDoesNotKeepItsNodeAway) {
  EXPECT_FALSE(vfio_node("9"));
  to_vfio(kNic2);
  EXPECT_TRUE(vfio_node("9"));  // the bridge beside it stays on pcieport: still viable
  EXPECT_EQ(fake().status()["pci"].size(), 6U);
  ASSERT_EQ(unbind("vfio-pci", kNic2), 0);
  EXPECT_FALSE(vfio_node("9"));
  fake().control("vfio-nodes any");
  to_vfio(kBridge);
  EXPECT_TRUE(vfio_node("9"));
  fake().control("vfio-nodes viable");
  EXPECT_FALSE(vfio_node("9")) << "only a bridge on vfio-pci: no device to pass";
}

TEST_F(FakeSysfsPciTest, InUseVfioDeviceCannotBeUnboundNorItsVfsDisabled) {
  to_vfio(kNic);
  fake().control(std::string("pci-in-use ") + kNic + " on");
  EXPECT_EQ(unbind("vfio-pci", kNic), EBUSY);  // the kernel would block until qemu lets go
  EXPECT_EQ(driver_of(kNic), "vfio-pci");
  fake().control(std::string("pci-in-use ") + kNic + " off");
  EXPECT_EQ(unbind("vfio-pci", kNic), 0);

  ASSERT_EQ(numvfs(kNvme, "2"), 0);
  to_vfio("0000:03:00.1");
  fake().control("pci-in-use 0000:03:00.1 on");
  EXPECT_EQ(numvfs(kNvme, "0"), EBUSY);
  EXPECT_TRUE(fs::exists(dev("0000:03:00.1")));
  fake().control("pci-in-use 0000:03:00.1 off");
  ASSERT_EQ(numvfs(kNvme, "0"), 0);
  EXPECT_FALSE(vfio_node("43"));
  EXPECT_EQ(fake().try_control("pci-in-use 0000:03:00.1 on"), ENOENT);  // gone
}

TEST_F(FakeSysfsPciTest, NvidiaVfsListCreatableTypesExactly) {
  ASSERT_EQ(numvfs(kGpu, "4"), 0);
  const char* vfs[] = {"0000:41:00.4", "0000:41:00.5", "0000:41:00.6", "0000:41:00.7"};
  for (const char* vf : vfs) {
    EXPECT_EQ(driver_of(vf), "nvidia") << vf;
    EXPECT_EQ(read(nv(vf) / "creatable_vgpu_types"),
              "ID    : vGPU Name\n"
              "1148  : NVIDIA L40S-2Q\n"
              "1150  : NVIDIA L40S-4Q\n")
        << vf;  // 1155 has max 0: never creatable
    EXPECT_EQ(read(nv(vf) / "current_vgpu_type"), "0\n");
  }
  EXPECT_EQ(write(nv(vfs[0]) / "creatable_vgpu_types", "1148"), EACCES);
  EXPECT_FALSE(fs::exists(dev(kGpu) / "nvidia"));  // only the VFs have it
  EXPECT_FALSE(fs::exists(dev("0000:03:00.0") / "nvidia"));
  EXPECT_FALSE(fs::exists(fake().dev() / "vfio"));  // no type, no VFIO device
}

TEST_F(FakeSysfsPciTest, NvidiaTypeSetClearAndTheHomogeneousRule) {
  ASSERT_EQ(numvfs(kGpu, "4"), 0);
  const std::string a = "0000:41:00.4", b = "0000:41:00.5", c = "0000:41:00.6";
  const std::string group_a = group_of(a);
  EXPECT_EQ(write(nv(a) / "current_vgpu_type", "abc"), EINVAL);
  EXPECT_EQ(write(nv(a) / "current_vgpu_type", "9999"), EINVAL);  // no such type
  EXPECT_EQ(write(nv(a) / "current_vgpu_type", "1155"), EINVAL);  // max 0
  ASSERT_EQ(write(nv(a) / "current_vgpu_type", "1148\n"), 0);
  EXPECT_EQ(read(nv(a) / "current_vgpu_type"), "1148\n");
  EXPECT_EQ(read(nv(a) / "creatable_vgpu_types"), "ID    : vGPU Name\n1148  : NVIDIA L40S-2Q\n");
  EXPECT_TRUE(vfio_node(group_a));
  EXPECT_EQ(write(nv(a) / "current_vgpu_type", "1148"), 0);      // the same again
  EXPECT_EQ(write(nv(a) / "current_vgpu_type", "1150"), EBUSY);  // another while one is set
  // Homogeneous: with 1148 on the PF, no other VF may take 1150.
  EXPECT_EQ(read(nv(b) / "creatable_vgpu_types"), "ID    : vGPU Name\n1148  : NVIDIA L40S-2Q\n");
  EXPECT_EQ(write(nv(b) / "current_vgpu_type", "1150"), EINVAL);
  ASSERT_EQ(write(nv(b) / "current_vgpu_type", "1148"), 0);
  // 1148 has max 2: both taken, the type disappears from the others' lists.
  EXPECT_EQ(read(nv(c) / "creatable_vgpu_types"), "ID    : vGPU Name\n");
  EXPECT_EQ(write(nv(c) / "current_vgpu_type", "1148"), EINVAL);
  // Clear: the type, and the node, go; the others can take it again.
  ASSERT_EQ(write(nv(a) / "current_vgpu_type", "0\n"), 0);
  EXPECT_EQ(read(nv(a) / "current_vgpu_type"), "0\n");
  EXPECT_FALSE(vfio_node(group_a));
  EXPECT_EQ(read(nv(c) / "creatable_vgpu_types"), "ID    : vGPU Name\n1148  : NVIDIA L40S-2Q\n");
  ASSERT_EQ(write(nv(b) / "current_vgpu_type", "0"), 0);
  EXPECT_EQ(read(nv(c) / "creatable_vgpu_types"),
            "ID    : vGPU Name\n1148  : NVIDIA L40S-2Q\n1150  : NVIDIA L40S-4Q\n");
  ASSERT_EQ(write(nv(c) / "current_vgpu_type", "1150"), 0);  // max 1
  EXPECT_EQ(read(nv(a) / "creatable_vgpu_types"), "ID    : vGPU Name\n");
  EXPECT_EQ(status_of(c)["vgpu_type"], 1150);
  EXPECT_EQ(status_of(a)["vgpu_type"], 0);
}

TEST_F(FakeSysfsPciTest, NvidiaTypeInUseCannotBeClearedNorTheVfsDisabled) {
  ASSERT_EQ(numvfs(kGpu, "2"), 0);
  const std::string vf = "0000:41:00.4";
  ASSERT_EQ(write(nv(vf) / "current_vgpu_type", "1150"), 0);
  fake().control("pci-in-use " + vf + " on");
  EXPECT_EQ(write(nv(vf) / "current_vgpu_type", "0"), EBUSY);
  EXPECT_EQ(numvfs(kGpu, "0"), EBUSY);
  EXPECT_EQ(unbind("nvidia", vf), EBUSY);
  EXPECT_EQ(write(nv(vf) / "vgpu_params", "frame_rate_limiter=0"), EBUSY);  // apply at type set
  fake().control("pci-in-use " + vf + " off");
  ASSERT_EQ(write(nv(vf) / "current_vgpu_type", "0"), 0);
  ASSERT_EQ(write(nv(vf) / "vgpu_params", "frame_rate_limiter=0\n"), 0);
  EXPECT_EQ(read(nv(vf) / "vgpu_params"), "frame_rate_limiter=0\n");
  // Off the nvidia driver the VF has no nvidia/ directory.
  ASSERT_EQ(unbind("nvidia", vf), 0);
  EXPECT_FALSE(fs::exists(nv(vf)));
  ASSERT_EQ(probe(vf), 0);
  EXPECT_EQ(read(nv(vf) / "current_vgpu_type"), "0\n");
  ASSERT_EQ(numvfs(kGpu, "0"), 0);
  EXPECT_FALSE(fs::exists(dev(vf)));
}

TEST_F(FakeSysfsPciTest, FailWriteFailsTheNextWritesToFilesOfThatName) {
  fake().control("fail-write bind EIO 2");
  ASSERT_EQ(unbind("e1000e", kNic), 0);
  EXPECT_EQ(bind("e1000e", kNic), EIO);
  EXPECT_EQ(bind("nvme", kNic), EIO);  // any driver's bind
  EXPECT_EQ(bind("e1000e", kNic), 0);
  fake().control("fail-write sriov_numvfs ENOMEM");
  EXPECT_EQ(numvfs(kNvme, "1"), ENOMEM);
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "0\n");
  EXPECT_EQ(numvfs(kNvme, "1"), 0);
  fake().control("fail-write driver_override 16");
  EXPECT_EQ(write(dev(kNic) / "driver_override", "vfio-pci"), EBUSY);
  EXPECT_EQ(read(dev(kNic) / "driver_override"), "(null)\n");
  EXPECT_EQ(fake().try_control("fail-write bind"), EINVAL);
  EXPECT_EQ(fake().try_control("fail-write bind ENOTANERRNO"), EINVAL);
}

TEST_F(FakeSysfsPciTest, DenyWritesCoversThePciFiles) {
  fake().control("deny-writes on");
  EXPECT_EQ(write(dev(kNic) / "driver_override", "vfio-pci"), EACCES);
  EXPECT_EQ(unbind("e1000e", kNic), EACCES);
  EXPECT_EQ(numvfs(kNvme, "1"), EACCES);
  EXPECT_EQ(probe(kNic), EACCES);
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "0\n");  // reading still works
  fake().control("deny-writes off");
  EXPECT_EQ(unbind("e1000e", kNic), 0);
}

TEST_F(FakeSysfsPciTest, SetDriverRebindsBehindTheProgramsBack) {
  fake().control(std::string("set-driver ") + kNic + " none");
  EXPECT_EQ(driver_of(kNic), "");
  fake().control(std::string("set-driver ") + kNic + " vfio-pci");
  EXPECT_EQ(driver_of(kNic), "vfio-pci");
  EXPECT_TRUE(vfio_node("40"));
  fake().control(std::string("set-driver ") + kNic + " e1000e");
  EXPECT_EQ(driver_of(kNic), "e1000e");
  EXPECT_FALSE(vfio_node("40"));
  EXPECT_EQ(fake().try_control(std::string("set-driver ") + kNic + " i915"), ENOENT);
  EXPECT_EQ(fake().try_control("set-driver 0000:00:19.7 none"), ENOENT);
  EXPECT_EQ(fake().try_control("pci-in-use 0000:00:19.7 on"), ENOENT);
  EXPECT_EQ(fake().try_control(std::string("pci-in-use ") + kNic + " maybe"), EINVAL);
}

TEST_F(FakeSysfsPciTest, StatusReportsEveryPciDevice) {
  ASSERT_EQ(numvfs(kGpu, "1"), 0);
  ASSERT_EQ(write(nv("0000:41:00.4") / "current_vgpu_type", "1148"), 0);
  ASSERT_EQ(write(dev(kNic) / "driver_override", "vfio-pci"), 0);
  fake().control(std::string("pci-in-use ") + kNic + " on");
  ASSERT_EQ(bind("vfio-pci", kNic), EBUSY);  // refused: not counted
  const nlohmann::json status = fake().status();
  EXPECT_EQ(status["pci_writes"], 3);
  EXPECT_EQ(status["pci"].size(), 7U);
  EXPECT_EQ(status_of(kNic), nlohmann::json::parse(R"({"address": "0000:00:19.0",
    "driver": "e1000e", "driver_override": "vfio-pci", "iommu_group": 40, "in_use": true})"));
  EXPECT_EQ(status_of(kGpu), nlohmann::json::parse(R"({"address": "0000:41:00.0",
    "driver": "nvidia", "driver_override": null, "iommu_group": 41, "in_use": false,
    "numvfs": 1, "autoprobe": 1})"));
  EXPECT_EQ(status_of("0000:41:00.4"), nlohmann::json::parse(R"({"address": "0000:41:00.4",
    "driver": "nvidia", "driver_override": null, "iommu_group": 43, "in_use": false,
    "physfn": "0000:41:00.0", "vgpu_type": 1148})"));
}

TEST_F(FakeSysfsPciTest, ConfigCanStartDevicesOnVfioPciWithVfsEnabled) {
  mount({{"pci",
          {{"drivers", {"nvme", "vfio-pci"}},
           {"iommu_group_base", 60},
           {"devices",
            {{{"address", "0000:03:00.0"},
              {"vendor", "0x1b36"},
              {"device", "0x0010"},
              {"driver", "nvme"},
              {"sriov", {{"totalvfs", 2}, {"numvfs", 2}, {"autoprobe", 0}}}},
             {{"address", "0000:04:00.0"},
              {"vendor", "0x1b36"},
              {"device", "0x0010"},
              {"driver", "nvme"},
              {"driver_override", "vfio-pci"},
              {"bound", "vfio-pci"}}}}}}});
  EXPECT_EQ(read(dev(kNvme) / "sriov_numvfs"), "2\n");
  EXPECT_EQ(driver_of("0000:03:00.1"), "");                 // autoprobe 0
  EXPECT_EQ(read(dev(kNvme) / "sriov_vf_device"), "10\n");  // defaults to the PF's device
  EXPECT_EQ(driver_of("0000:04:00.0"), "vfio-pci");
  EXPECT_EQ(read(dev("0000:04:00.0") / "driver_override"), "vfio-pci\n");
  EXPECT_EQ(group_of("0000:04:00.0"), "61");
  EXPECT_TRUE(vfio_node("61"));
}

class FakeSysfsCombinedTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    mount(combined_config());
  }
};

TEST_F(FakeSysfsCombinedTest, MdevParentIsAlsoAPciDeviceAndGroupsDoNotCollide) {
  const fs::path sys = fake().sys();
  const fs::path gpu = sys / "devices/pci0000:00/0000:00:02.0";
  EXPECT_EQ(fs::canonical(sys / "bus/pci/devices/0000:00:02.0"), gpu);
  EXPECT_EQ(fs::canonical(sys / "class/mdev_bus/0000:00:02.0"), gpu);
  EXPECT_TRUE(fs::is_directory(gpu / "mdev_supported_types/i915-GVTg_V4_8"));
  EXPECT_EQ(read_sysfs(gpu / "vendor"), "0x8086\n");
  EXPECT_EQ(fs::read_symlink(gpu / "driver"), "../../../bus/pci/drivers/i915");
  EXPECT_EQ(fs::read_symlink(gpu / "iommu_group"), "../../../kernel/iommu_groups/42");
  // mdev groups keep their own base, and skip none of theirs for PCI.
  ASSERT_EQ(write_sysfs(gpu / "mdev_supported_types/i915-GVTg_V4_8/create", kUuid1), 0);
  EXPECT_EQ(fs::read_symlink(gpu / kUuid1 / "iommu_group"), "../../../../kernel/iommu_groups/20");
  EXPECT_TRUE(fs::exists(fake().dev() / "vfio/20"));
  EXPECT_FALSE(fs::exists(fake().dev() / "vfio/42"));
  EXPECT_FALSE(fs::exists(sys / "bus/pci/devices/0000:00:02.1"));  // no xe PF here
  EXPECT_EQ(fake().status()["pci"].size(), 6U);
}

TEST_F(FakeSysfsCombinedTest, MdevGroupsSkipPciGroupNumbers) {
  // 25 mtty devices: mdev groups 20.. must step over the PCI groups 40, 41 and 42.
  for (int i = 0; i < 24; ++i) {
    char uuid[37];
    std::snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
    ASSERT_EQ(
        write_sysfs(fake().sys() / "class/mdev_bus/mtty/mdev_supported_types/mtty-1/create", uuid),
        0);
  }
  std::set<int> groups;
  const nlohmann::json status = fake().status();
  for (const auto& d : status["devices"]) groups.insert(d["iommu_group"].get<int>());
  EXPECT_EQ(groups.size(), 24U);
  EXPECT_FALSE(groups.count(40) || groups.count(41) || groups.count(42));
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(*groups.rbegin(), 46);
}

}  // namespace
}  // namespace mdevrun::testing

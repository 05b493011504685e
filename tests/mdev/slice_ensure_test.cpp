// The PCI backends (vf, nvidia-vgpu, pci) against the fake sysfs: what ensure_slices changes, that
// undo_pci_changes puts back exactly that, and that refusals change nothing.
#include "devices/slice_ensure.hpp"

#include <gtest/gtest.h>

#include "devices/pci_sysfs.hpp"
#include "devices/pci_undo.hpp"
#include "mdev_test_support.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace {

constexpr const char* kNvmePf = "0000:03:00.0";
constexpr const char* kNic = "0000:00:19.0";
constexpr const char* kNvidiaPf = "0000:41:00.0";

SliceSpec vf_spec(std::string id, std::optional<int> numvfs = 2, std::optional<int> vf = {}) {
  SliceSpec s;
  s.id = std::move(id);
  s.mechanism = SliceMechanism::vf;
  s.pf.address = kNvmePf;
  s.numvfs = numvfs;
  s.vf = vf;
  return s;
}

SliceSpec pci_spec(std::string id, std::string address) {
  SliceSpec s;
  s.id = std::move(id);
  s.mechanism = SliceMechanism::pci;
  s.address = std::move(address);
  return s;
}

SliceSpec nvidia_spec(std::string id, std::string type_name) {
  SliceSpec s;
  s.id = std::move(id);
  s.mechanism = SliceMechanism::nvidia_vgpu;
  s.vgpu_type_name = std::move(type_name);
  return s;
}

class SliceEnsureTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    if (HasFatalFailure()) return;
    mount(pci_like_config());
    pci_.emplace(fake().host());
  }

  SliceEnsureOptions options() {
    SliceEnsureOptions o;
    o.lock_dir = runtime().ensure_locks_dir();
    o.vfio_node_timeout = std::chrono::milliseconds(2000);
    return o;
  }

  std::string attr(const std::string& address, const std::string& name) {
    return trim(read_sysfs(pci_->device_dir(address) / name).value_or("<missing>"));
  }
  std::string driver(const std::string& address) {
    return pci_->driver_of(address).value_or("none");
  }

  PciUndoOutcome undo(const SliceEnsureResult& r) {
    PciUndoOptions o;
    o.lock_dir = runtime().locks_dir();
    for (const auto& s : r.slices) o.own.insert(s.address);
    return undo_pci_changes(fake().host(), r.changes, o);
  }

  std::optional<PciSysfs> pci_;
};

TEST_F(SliceEnsureTest, VfIsEnabledBoundToVfioAndPutBackExactly) {
  ASSERT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
  ASSERT_EQ(attr(kNvmePf, "sriov_drivers_autoprobe"), "1");
  SliceEnsureResult r =
      ensure_slices(fake().host(), {vf_spec("vf0")}, EnsureMode::create, options());
  ASSERT_EQ(r.slices.size(), 1u);
  const ResolvedSlice& s = r.slices[0];
  EXPECT_EQ(s.address, "0000:03:00.1");
  EXPECT_EQ(s.pf, kNvmePf);
  EXPECT_EQ(s.vf_index, 0);
  EXPECT_EQ(s.driver, "vfio-pci");
  ASSERT_TRUE(s.iommu_group);
  EXPECT_TRUE(std::filesystem::exists(fake().host().vfio_node(*s.iommu_group)));
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "2");
  EXPECT_EQ(attr(kNvmePf, "sriov_drivers_autoprobe"), "0");
  EXPECT_EQ(driver("0000:03:00.2"), "none");  // autoprobe off: the other VF stays unbound
  ASSERT_EQ(r.changes.size(), 4u);            // autoprobe, numvfs, driver_override, bind
  EXPECT_EQ(r.changes[0].change.kind, PciChange::Kind::autoprobe);
  EXPECT_EQ(r.changes[1].change.after, "2");
  EXPECT_EQ(lock_files(), 1u);  // the VF's lock; the PF's was only held while choosing

  const PciUndoOutcome u = undo(r);
  EXPECT_FALSE(u.failure) << u.failure->what();
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
  EXPECT_EQ(attr(kNvmePf, "sriov_drivers_autoprobe"), "1");
  EXPECT_FALSE(pci_->exists("0000:03:00.1"));
  r.locks.clear();
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(SliceEnsureTest, SomeoneElsesVfIsUsedAndLeftAsItWas) {
  // By hand, as an admin would: enable both VFs (autoprobe binds them to nvme), give VF 1 to
  // vfio-pci.
  ASSERT_EQ(pci_->write_numvfs(kNvmePf, 2), 0);
  ASSERT_EQ(driver("0000:03:00.2"), "nvme");
  ASSERT_EQ(pci_->unbind("0000:03:00.2", "nvme"), 0);
  ASSERT_EQ(pci_->write_driver_override("0000:03:00.2", "vfio-pci"), 0);
  ASSERT_EQ(pci_->probe("0000:03:00.2"), 0);
  ASSERT_EQ(driver("0000:03:00.2"), "vfio-pci");

  SliceEnsureResult r =
      ensure_slices(fake().host(), {vf_spec("vf1", 2, 1)}, EnsureMode::create, options());
  EXPECT_EQ(r.slices[0].address, "0000:03:00.2");
  EXPECT_TRUE(r.changes.empty());  // nothing to change, so nothing to put back
  const PciUndoOutcome u = undo(r);
  EXPECT_FALSE(u.failure);
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "2");
  EXPECT_EQ(driver("0000:03:00.2"), "vfio-pci");
  EXPECT_EQ(attr("0000:03:00.2", "driver_override"), "vfio-pci");
  EXPECT_EQ(driver("0000:03:00.1"), "nvme");
}

TEST_F(SliceEnsureTest, AnAutomaticPickNeverTakesAVfFromAHostDriver) {
  ASSERT_EQ(pci_->write_numvfs(kNvmePf, 2), 0);  // both VFs on nvme (autoprobe)
  try {
    ensure_slices(fake().host(), {vf_spec("vf0")}, EnsureMode::create, options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::busy);
    EXPECT_NE(std::string(e.what()).find("no free VF on PF 0000:03:00.0"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("0000:03:00.1 is bound to nvme"), std::string::npos);
  }
  EXPECT_EQ(driver("0000:03:00.1"), "nvme");
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(SliceEnsureTest, TwoSlicesOfOneProfileGetTwoVfs) {
  SliceEnsureResult r =
      ensure_slices(fake().host(), {vf_spec("a"), vf_spec("b")}, EnsureMode::create, options());
  EXPECT_EQ(r.slices[0].address, "0000:03:00.1");
  EXPECT_EQ(r.slices[1].address, "0000:03:00.2");
  EXPECT_FALSE(undo(r).failure);
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
}

TEST_F(SliceEnsureTest, NumvfsStaysWhileAnotherLauncherUsesAVf) {
  SliceEnsureResult first =
      ensure_slices(fake().host(), {vf_spec("a")}, EnsureMode::create, options());
  SliceEnsureResult second =
      ensure_slices(fake().host(), {vf_spec("b")}, EnsureMode::create, options());
  ASSERT_EQ(second.slices[0].address, "0000:03:00.2");
  EXPECT_TRUE(second.changes.size() == 2u);  // override + bind: the VFs were there already
  const PciUndoOutcome u = undo(first);
  EXPECT_FALSE(u.failure);
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "2");  // VF 1 is the other launcher's
  ASSERT_FALSE(u.notes.empty());
  EXPECT_NE(u.notes[0].find("left 2 VFs enabled because 0000:03:00.2"), std::string::npos)
      << u.notes[0];
  EXPECT_EQ(driver("0000:03:00.1"), "none");  // ours is put back
  EXPECT_EQ(driver("0000:03:00.2"), "vfio-pci");
}

TEST_F(SliceEnsureTest, AFailedWriteRollsBackEverythingBefore) {
  fake().control("fail-write driver_override EACCES");
  try {
    ensure_slices(fake().host(), {vf_spec("vf0")}, EnsureMode::create, options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::permission);
    EXPECT_NE(std::string(e.what()).find("driver_override"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("run mdevrun as root"), std::string::npos);
  }
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
  EXPECT_EQ(attr(kNvmePf, "sriov_drivers_autoprobe"), "1");
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(SliceEnsureTest, WholeDeviceIsTakenAndGivenBack) {
  SliceEnsureResult r =
      ensure_slices(fake().host(), {pci_spec("nic", kNic)}, EnsureMode::create, options());
  EXPECT_EQ(driver(kNic), "vfio-pci");
  EXPECT_EQ(r.changes.size(), 3u);  // unbind e1000e, override, bind
  EXPECT_FALSE(undo(r).failure);
  EXPECT_EQ(driver(kNic), "e1000e");
  EXPECT_EQ(attr(kNic, "driver_override"), "(null)");
}

TEST_F(SliceEnsureTest, AChangeSomeoneMadeSinceIsLeftAlone) {
  SliceEnsureResult r =
      ensure_slices(fake().host(), {pci_spec("nic", kNic)}, EnsureMode::create, options());
  fake().control(std::string("set-driver ") + kNic + " none");
  ASSERT_EQ(pci_->write_driver_override(kNic, "pci-stub"), 0);
  const PciUndoOutcome u = undo(r);
  EXPECT_EQ(attr(kNic, "driver_override"), "pci-stub");
  ASSERT_FALSE(u.notes.empty());
  EXPECT_NE(u.notes[0].find("driver_override is \"pci-stub\" now"), std::string::npos)
      << u.notes[0];
}

TEST_F(SliceEnsureTest, GivingBackFailsLoudlyWhenTheDriverRefuses) {
  SliceEnsureResult r =
      ensure_slices(fake().host(), {pci_spec("nic", kNic)}, EnsureMode::create, options());
  fake().control("fail-write bind ENODEV 5");
  fake().control("fail-write drivers_probe ENODEV 5");
  const PciUndoOutcome u = undo(r);
  ASSERT_TRUE(u.failure);
  EXPECT_NE(std::string(u.failure->what()).find("cannot give 0000:00:19.0 back to e1000e"),
            std::string::npos)
      << u.failure->what();
}

TEST_F(SliceEnsureTest, ANonViableGroupIsRefusedWithNothingChanged) {
  nlohmann::json config = pci_like_config();
  config["pci"]["devices"].push_back({{"address", "0000:00:1c.2"},
                                      {"vendor", "0x8086"},
                                      {"device", "0x10d3"},
                                      {"class", "0x020000"},
                                      {"driver", "e1000e"},
                                      {"iommu_group", 9}});
  pci_.reset();
  fake_.reset();
  mount(config);
  pci_.emplace(fake().host());
  try {
    ensure_slices(fake().host(), {pci_spec("nic", "0000:00:1c.1")}, EnsureMode::create, options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    const std::string what = e.what();
    EXPECT_NE(what.find("shares IOMMU group 9 with 0000:00:1c.2 (8086:10d3, driver e1000e)"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("0000:00:1c.0"), std::string::npos) << "a bridge is fine: " << what;
  }
  EXPECT_EQ(driver("0000:00:1c.1"), "e1000e");
  EXPECT_EQ(attr("0000:00:1c.1", "driver_override"), "(null)");
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(SliceEnsureTest, TheWholeGroupInOneProfileIsViable) {
  SliceEnsureResult r = ensure_slices(fake().host(), {pci_spec("nic", "0000:00:1c.1")},
                                      EnsureMode::create, options());
  EXPECT_EQ(driver("0000:00:1c.1"), "vfio-pci");  // the bridge beside it is fine
  EXPECT_FALSE(undo(r).failure);
  EXPECT_EQ(driver("0000:00:1c.1"), "e1000e");
}

TEST_F(SliceEnsureTest, ALockedDeviceIsBusy) {
  SliceEnsureResult first =
      ensure_slices(fake().host(), {pci_spec("nic", kNic)}, EnsureMode::create, options());
  try {
    ensure_slices(fake().host(), {pci_spec("nic", kNic)}, EnsureMode::create, options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::busy);
    EXPECT_NE(std::string(e.what()).find("used by another mdevrun"), std::string::npos);
  }
  EXPECT_EQ(driver(kNic), "vfio-pci");  // the first one's, untouched
  EXPECT_FALSE(undo(first).failure);
}

TEST_F(SliceEnsureTest, DryRunChangesNothing) {
  SliceEnsureResult r = ensure_slices(fake().host(), {vf_spec("vf0"), pci_spec("nic", kNic)},
                                      EnsureMode::dry_run, options());
  ASSERT_EQ(r.slices.size(), 2u);
  EXPECT_EQ(r.slices[0].address, "0000:03:00.1");  // from sriov_offset/stride
  EXPECT_EQ(r.slices[1].address, kNic);
  EXPECT_TRUE(r.changes.empty());
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_NE(r.notes[1].find("would take 0000:00:19.0"), std::string::npos) << r.notes[1];
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
  EXPECT_EQ(driver(kNic), "e1000e");
  EXPECT_EQ(lock_files(), 0u);
}

TEST_F(SliceEnsureTest, MissingDeviceAndTooManyVfsSayWhatToDo) {
  try {
    ensure_slices(fake().host(), {pci_spec("x", "0000:09:00.0")}, EnsureMode::create, options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    EXPECT_NE(std::string(e.what()).find("no PCI device 0000:09:00.0"), std::string::npos);
  }
  try {
    ensure_slices(fake().host(), {vf_spec("x", 3)}, EnsureMode::create, options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("offers 2 VFs (sriov_totalvfs)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(attr(kNvmePf, "sriov_numvfs"), "0");
}

TEST_F(SliceEnsureTest, NvidiaTypeIsSetOnTheFirstVfWhereItIsCreatable) {
  SliceEnsureResult r = ensure_slices(
      fake().host(), {nvidia_spec("a", "NVIDIA L40S-2Q"), nvidia_spec("b", "NVIDIA L40S-2Q")},
      EnsureMode::create, options());
  EXPECT_EQ(attr(kNvidiaPf, "sriov_numvfs"), "4");  // all, as sriov-manage -e does
  EXPECT_EQ(r.slices[0].address, "0000:41:00.4");
  EXPECT_EQ(r.slices[1].address, "0000:41:00.5");
  EXPECT_EQ(r.slices[0].vgpu_type, 1148);
  EXPECT_EQ(r.slices[0].driver, "nvidia");  // never rebound
  EXPECT_EQ(attr("0000:41:00.4", "nvidia/current_vgpu_type"), "1148");
  EXPECT_EQ(driver("0000:41:00.4"), "nvidia");
  EXPECT_TRUE(std::filesystem::exists(fake().host().vfio_node(*r.slices[0].iommu_group)));
  // max 2 of that type: a third is refused, naming what is creatable.
  try {
    ensure_slices(fake().host(), {nvidia_spec("c", "NVIDIA L40S-2Q")}, EnsureMode::create,
                  options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    EXPECT_NE(std::string(e.what()).find("can create vGPU type \"NVIDIA L40S-2Q\""),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(undo(r).failure);
  EXPECT_FALSE(pci_->exists("0000:41:00.4"));  // the VFs went with numvfs 0
  EXPECT_EQ(attr(kNvidiaPf, "sriov_numvfs"), "0");
}

TEST_F(SliceEnsureTest, ANonCreatableNvidiaTypeIsRefused) {
  try {
    ensure_slices(fake().host(), {nvidia_spec("a", "NVIDIA L40S-48Q")}, EnsureMode::create,
                  options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::mdev);
    const std::string what = e.what();
    EXPECT_NE(what.find("creatable now: 1148 NVIDIA L40S-2Q, 1150 NVIDIA L40S-4Q"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(attr(kNvidiaPf, "sriov_numvfs"), "0");  // rolled back
}

}  // namespace
}  // namespace mdevrun::testing

namespace mdevrun::testing {
namespace {

TEST_F(SliceEnsureTest, DryRunOfAnNvidiaTypeNamesTheVfStartWouldTry) {
  SliceEnsureResult r = ensure_slices(fake().host(), {nvidia_spec("a", "NVIDIA L40S-2Q")},
                                      EnsureMode::dry_run, options());
  ASSERT_EQ(r.slices.size(), 1u);
  EXPECT_EQ(r.slices[0].address, "0000:41:00.4");  // VF 0 by sriov_offset 4
  EXPECT_EQ(attr(kNvidiaPf, "sriov_numvfs"), "0");
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("would enable the VFs of 0000:41:00.0"), std::string::npos);
}

}  // namespace
}  // namespace mdevrun::testing

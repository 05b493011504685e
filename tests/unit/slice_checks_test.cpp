// `mdevrun check` for profiles with PCI slices, on plain folder trees shaped like sysfs and /proc
// (no FUSE): a good SR-IOV host passes; each test changes one piece and asserts the verdict and
// the fix of the check that must notice.

#include <gmock/gmock.h>
#include <unistd.h>

#include <map>
#include <set>

#include "check/host_checks.hpp"
#include "check_line.hpp"
#include "pci_tree.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::PciTree;

constexpr const char* kCpuinfo =
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse msr vmx ept\n\n";
constexpr const char* kInterrupts =
    "           CPU0       CPU1\n"
    "  0:         31          0   IR-IO-APIC    2-edge      timer\n"
    " 24:          0       1042   IR-PCI-MSIX-0000:00:04.0    0-edge      nvme0q0\n";
constexpr const char* kVfioHelp =
    "vfio-pci options:\n  display=<OnOffAuto>\n  host=<str>\n  rombar=<uint32>\n  sysfsdev=<str>\n";

SliceSpec vf_slice(const std::string& id, const std::string& pf, int numvfs) {
  SliceSpec s;
  s.id = id;
  s.mechanism = SliceMechanism::vf;
  s.pf.address = pf;
  s.numvfs = numvfs;
  return s;
}

SliceSpec pci_slice(const std::string& id, const std::string& address) {
  SliceSpec s;
  s.id = id;
  s.mechanism = SliceMechanism::pci;
  s.address = address;
  return s;
}

SliceSpec vgpu_slice(const std::string& id, const std::string& type) {
  SliceSpec s;
  s.id = id;
  s.mechanism = SliceMechanism::nvidia_vgpu;
  s.vgpu_type_name = type;
  return s;
}

class SliceChecksTest : public ::testing::Test {
 protected:
  SliceChecksTest() : tree_(tmp_.path() / "sys") {
    write(proc() / "cpuinfo", kCpuinfo);
    write(proc() / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet intel_iommu=on\n");
    write(proc() / "interrupts", kInterrupts);
    for (const char* module : {"vfio", "vfio_iommu_type1", "kvm_intel"})
      fs::create_directories(sys() / "module" / module);
    write(sys() / "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
    write(dev() / "kvm", "");
    write(dev() / "vfio" / "vfio", "");
    tree_.driver("vfio-pci");
    // An Alder Lake iGPU on xe: SR-IOV with 7 VFs, none enabled.
    tree_.add({.address = "0000:00:02.0",
               .vendor = "0x8086",
               .device = "0x46a6",
               .class_code = "0x030000",
               .driver = "xe",
               .iommu_group = 0});
    tree_.sriov("0000:00:02.0", 7, {});
    profile_.file = "/profiles/desk.json";
    profile_.name = "desk";
    profile_.display.backend = DisplayBackend::none;
    profile_.slices = {vf_slice("gpu0", "0000:00:02.0", 2)};
  }

  fs::path sys() const { return tree_.sys(); }
  fs::path proc() const { return tmp_.path() / "proc"; }
  fs::path dev() const { return tmp_.path() / "dev"; }
  static void write(const fs::path& p, const std::string& text) { PciTree::write(p, text); }

  std::vector<CheckResult> run() {
    HostView h;
    h.paths = {.sys = sys(), .dev = dev(), .proc = proc()};
    h.getenv = [](const std::string&) { return std::nullopt; };
    h.root = true;
    h.can_access = [](const fs::path& path, int mode) { return ::access(path.c_str(), mode) == 0; };
    h.run_qemu = [](const std::vector<std::string>& argv) -> std::optional<ProgramOutput> {
      std::string args;
      for (std::size_t i = 1; i < argv.size(); ++i) args += (i > 1 ? " " : "") + argv[i];
      if (args == "--version") return ProgramOutput{0, "QEMU emulator version 7.2.22\n"};
      if (args == "-display help")
        return ProgramOutput{0, "Available display backend types:\nnone\ngtk\n"};
      if (args == "-device vfio-pci,help") return ProgramOutput{0, kVfioHelp};
      if (args == "-device vfio-pci-nohotplug,help")
        return ProgramOutput{0, std::string(kVfioHelp) + "  ramfb=<bool>\n"};
      return ProgramOutput{1, "qemu: unknown option\n"};
    };
    return run_host_checks(h, &profile_);
  }

  std::string line(const std::vector<CheckResult>& results, const std::string& id) {
    return testing::check_line(results, id);
  }
  std::string line(const std::string& id) { return line(run(), id); }

  static std::vector<std::string> ids(const std::vector<CheckResult>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) out.push_back(r.check);
    return out;
  }

  // Two functions of a discrete GPU in one IOMMU group.
  void discrete_gpu() {
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
  }

  // An NVIDIA L40S on the vGPU 17 host driver, with `vfs` enabled (each with the L40S-2Q type
  // creatable and none set).
  void nvidia_gpu(int vfs) {
    tree_.add({.address = "0000:41:00.0",
               .vendor = "0x10de",
               .device = "0x26b9",
               .class_code = "0x030200",
               .driver = "nvidia",
               .iommu_group = 39});
    std::vector<std::string> addresses;
    for (int k = 0; k < vfs; ++k) addresses.push_back("0000:41:00." + std::to_string(4 + k));
    tree_.sriov("0000:41:00.0", 4, addresses, true, 4, 1, "nvidia", 40);
    for (const auto& a : addresses) tree_.nvidia(a, 0, {{1148, "NVIDIA L40S-2Q"}});
  }

  testing::TempDir tmp_;
  PciTree tree_;
  Profile profile_;
};

TEST_F(SliceChecksTest, AGoodSriovHostPasses) {
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "iommu"), "PASS  IOMMU: enabled (1 IOMMU group)");
  EXPECT_EQ(line(results, "interrupt-remapping"),
            "PASS  interrupt remapping: enabled (IR- interrupt chips in /proc/interrupts)");
  EXPECT_EQ(line(results, "vfio-pci"),
            "PASS  vfio-pci driver: loaded (/sys/bus/pci/drivers/vfio-pci)");
  EXPECT_EQ(line(results, "sriov-pf:gpu0"),
            "PASS  slice gpu0 PF: 0000:00:02.0 (8086:46a6, driver xe): 0 of 7 VFs enabled; start "
            "enables 2 VFs (and disables them at exit)");
  EXPECT_EQ(line(results, "slice:gpu0"),
            "PASS  slice gpu0: would enable VFs on 0000:00:02.0 and give VF 0000:00:02.1 to "
            "vfio-pci");
  EXPECT_EQ(line(results, "iommu-group:gpu0"),
            "PASS  slice gpu0 IOMMU group: 0000:00:02.1 does not exist yet (its VFs are not "
            "enabled): start checks its group once they are, and disables them again if it is "
            "not viable");
  for (const auto& r : results) EXPECT_NE(r.check, "nvidia-vfs");
  for (const auto& r : results) EXPECT_EQ(r.check.rfind("module:mdev", 0), std::string::npos);
}

TEST_F(SliceChecksTest, AnEnabledVfIsCheckedWhereItIs) {
  fs::remove_all(tree_.dir("0000:00:02.0"));
  fs::remove(sys() / "bus/pci/devices/0000:00:02.0");
  fs::remove_all(sys() / "kernel/iommu_groups/0");
  tree_.add({.address = "0000:00:02.0",
             .vendor = "0x8086",
             .device = "0x46a6",
             .class_code = "0x030000",
             .driver = "xe",
             .iommu_group = 0});
  tree_.sriov("0000:00:02.0", 7, {"0000:00:02.1", "0000:00:02.2"}, false, 1, 1, std::nullopt, 17);
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "slice:gpu0"),
            "PASS  slice gpu0: would take 0000:00:02.1 (8086:46a6, no driver) and bind it to "
            "vfio-pci");
  EXPECT_EQ(line(results, "iommu-group:gpu0"),
            "PASS  slice gpu0 IOMMU group: 0000:00:02.1 is alone in IOMMU group 17");

  profile_.slices[0].numvfs = 4;  // the kernel changes sriov_numvfs only from 0
  EXPECT_EQ(line("sriov-pf:gpu0"),
            "FAIL  slice gpu0 PF: 0000:00:02.0 (8086:46a6, driver xe) has 2 VFs enabled, the "
            "profile asks for 4; the kernel changes sriov_numvfs only from 0. Fix: stop what uses "
            "them and write 0 to the PF's sriov_numvfs, or set \"numvfs\" to 2");
}

TEST_F(SliceChecksTest, APfWithoutSriovSaysWhatGivesVfs) {
  for (const char* f : {"sriov_totalvfs", "sriov_numvfs", "sriov_offset", "sriov_stride",
                        "sriov_drivers_autoprobe"})
    fs::remove(tree_.dir("0000:00:02.0") / f);
  const auto results = run();
  EXPECT_EQ(line(results, "sriov-pf:gpu0"),
            "FAIL  slice gpu0 PF: 0000:00:02.0 (8086:46a6, driver xe) has no SR-IOV (no "
            "sriov_totalvfs). Fix: Intel Gen12+ graphics (Alder Lake and newer) gets VFs from the "
            "xe driver, or from i915 built from i915-sriov-dkms (with i915.max_vfs=7); Gen9/9.5 "
            "graphics has none (use an mdev slice with GVT-g); for a NIC load its SR-IOV driver "
            "and enable SR-IOV in the firmware setup");
  EXPECT_THAT(line(results, "slice:gpu0"),
              HasSubstr("FAIL  slice gpu0: 0000:00:02.0 is not an SR-IOV physical function (no "
                        "sriov_totalvfs). Fix: `mdevrun types` lists"));
  EXPECT_THAT(line(results, "iommu-group:gpu0"),
              HasSubstr("WARN  slice gpu0 IOMMU group: not checked"));
}

TEST_F(SliceChecksTest, APfWithoutDriverOrVfs) {
  fs::remove(tree_.dir("0000:00:02.0") / "driver");
  EXPECT_EQ(line("sriov-pf:gpu0"),
            "FAIL  slice gpu0 PF: 0000:00:02.0 (8086:46a6, no driver): VFs are enabled through the "
            "PF's driver, and none is bound. Fix: load the PF's driver (Intel graphics: xe, or "
            "i915 from i915-sriov-dkms; a NIC: its own driver)");
  tree_.bind("0000:00:02.0", "xe");
  PciTree::write(tree_.dir("0000:00:02.0") / "sriov_totalvfs", "0\n");
  EXPECT_THAT(line("sriov-pf:gpu0"),
              HasSubstr("FAIL  slice gpu0 PF: 0000:00:02.0 (8086:46a6, driver xe) offers no VFs "
                        "(sriov_totalvfs is 0). Fix: enable SR-IOV"));
  profile_.slices[0].pf.address = "0000:00:03.0";
  EXPECT_THAT(line("sriov-pf:gpu0"),
              HasSubstr("FAIL  slice gpu0 PF: no PCI device 0000:00:03.0. Fix: `lspci -D`"));
}

TEST_F(SliceChecksTest, APfPickedBySelector) {
  profile_.slices[0].pf = {std::nullopt, std::nullopt, "i915"};
  EXPECT_EQ(line("sriov-pf:gpu0"),
            "FAIL  slice gpu0 PF: no SR-IOV physical function on driver i915; SR-IOV PFs here: "
            "0000:00:02.0 (8086:46a6, driver xe). Fix: `mdevrun types` lists the SR-IOV PFs; name "
            "one as \"pf\" of slice \"gpu0\" in /profiles/desk.json");
  profile_.slices[0].pf = {std::nullopt, "8086:46a6", "xe"};
  EXPECT_THAT(line("sriov-pf:gpu0"), HasSubstr("PASS  slice gpu0 PF: 0000:00:02.0"));
}

TEST_F(SliceChecksTest, VfioPciMissing) {
  fs::remove_all(sys() / "bus/pci/drivers/vfio-pci");
  const auto results = run();
  EXPECT_EQ(line(results, "vfio-pci"),
            "FAIL  vfio-pci driver: not loaded (no /sys/bus/pci/drivers/vfio-pci): vf and pci "
            "slices are given to it. Fix: sudo modprobe vfio-pci; to load it at boot: echo "
            "vfio-pci | sudo tee /etc/modules-load.d/vfio-pci.conf");
  EXPECT_THAT(line(results, "slice:gpu0"), HasSubstr("FAIL  slice gpu0: the vfio-pci driver is "
                                                     "not loaded"));
}

TEST_F(SliceChecksTest, NoIommuFailsForSlices) {
  fs::remove_all(sys() / "kernel/iommu_groups");
  fs::remove(tree_.dir("0000:00:02.0") / "iommu_group");
  write(proc() / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  write(proc() / "interrupts", "  0:   31   0   IO-APIC    2-edge      timer\n");
  const auto results = run();
  EXPECT_THAT(line(results, "iommu"), HasSubstr("FAIL  IOMMU: not enabled"));
  EXPECT_THAT(line(results, "kernel-cmdline"),
              HasSubstr("FAIL  kernel command line: intel_iommu=on is missing"));
  EXPECT_THAT(line(results, "interrupt-remapping"),
              HasSubstr("FAIL  interrupt remapping: off (no IR- interrupt chips in "
                        "/proc/interrupts): vfio_iommu_type1 refuses the device"));
}

TEST_F(SliceChecksTest, InterruptRemappingOffOrUnsafe) {
  write(proc() / "interrupts", "  0:   31   0   IO-APIC    2-edge      timer\n");
  EXPECT_EQ(line("interrupt-remapping"),
            "FAIL  interrupt remapping: off (no IR- interrupt chips in /proc/interrupts): "
            "vfio_iommu_type1 refuses the device (qemu: \"Failed to set iommu for container: "
            "Operation not permitted\"). Fix: enable VT-d (Intel) or AMD-Vi with interrupt "
            "remapping in the firmware setup and keep intremap=off off the kernel command line; "
            "on a platform without it, and only for trusted guests: echo 'options "
            "vfio_iommu_type1 allow_unsafe_interrupts=1' | sudo tee /etc/modprobe.d/vfio.conf");
  write(sys() / "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
  EXPECT_EQ(line("interrupt-remapping"),
            "WARN  interrupt remapping: off (no IR- interrupt chips in /proc/interrupts), and "
            "vfio_iommu_type1 allow_unsafe_interrupts=Y lets vfio take devices without it: a "
            "device can inject interrupts into the host: only for trusted guests. Fix: enable "
            "VT-d (Intel) or AMD-Vi with interrupt remapping in the firmware setup and keep "
            "intremap=off off the kernel command line, then remove allow_unsafe_interrupts from "
            "/etc/modprobe.d");
}

TEST_F(SliceChecksTest, InterruptRemappingFromIntelCapabilitiesOrUnknown) {
  fs::remove(proc() / "interrupts");
  EXPECT_EQ(line("interrupt-remapping"),
            "WARN  interrupt remapping: cannot tell: /proc/interrupts is not readable and sysfs "
            "shows no Intel IOMMU capabilities. Fix: look for \"Enabled IRQ remapping\" (Intel) "
            "or \"Interrupt remapping enabled\" (AMD) in sudo dmesg; without it vfio refuses the "
            "device");
  write(sys() / "class/iommu/dmar0/intel-iommu/ecap", "f050da\n");  // bit 3 set
  EXPECT_THAT(line("interrupt-remapping"),
              HasSubstr("PASS  interrupt remapping: supported by every Intel IOMMU unit"));
  write(sys() / "class/iommu/dmar1/intel-iommu/ecap", "f050d2\n");  // bit 3 clear
  EXPECT_THAT(line("interrupt-remapping"),
              HasSubstr("FAIL  interrupt remapping: not supported by the IOMMU (dmar1: ecap bit "
                        "3, IR, is clear)"));
  write(proc() / "cmdline", "BOOT_IMAGE=/vmlinuz ro intel_iommu=on intremap=off\n");
  EXPECT_THAT(line("interrupt-remapping"),
              HasSubstr("FAIL  interrupt remapping: off (intremap=off on the kernel command "
                        "line)"));
}

TEST_F(SliceChecksTest, ASharedGroupNeedsTheWholeGroup) {
  discrete_gpu();
  profile_.slices = {pci_slice("gpu", "0000:01:00.0")};
  const auto results = run();
  EXPECT_EQ(line(results, "iommu-group:gpu"),
            "FAIL  slice gpu IOMMU group: 0000:01:00.0 shares IOMMU group 5 with 0000:01:00.1 "
            "(10de:22ba, driver snd_hda_intel), and vfio needs the whole group. Fix: pass those "
            "through too (add \"pci\" slices for them), or move the card to a slot with its own "
            "group");
  EXPECT_THAT(line(results, "slice:gpu"),
              HasSubstr("FAIL  slice gpu: 0000:01:00.0 shares IOMMU group 5 with 0000:01:00.1"));
  for (const auto& r : results) EXPECT_EQ(r.check.rfind("sriov-pf:", 0), std::string::npos);

  profile_.slices.push_back(pci_slice("gpu-audio", "0000:01:00.1"));
  const auto both = run();
  EXPECT_EQ(worst_verdict(both), Verdict::pass) << format_check_lines(both);
  EXPECT_EQ(line(both, "iommu-group:gpu"),
            "PASS  slice gpu IOMMU group: 0000:01:00.0: IOMMU group 5 holds only bridges and this "
            "profile's own devices besides it");
  EXPECT_EQ(line(both, "slice:gpu"),
            "PASS  slice gpu: would take 0000:01:00.0 (10de:2684, driver nouveau) and bind it to "
            "vfio-pci");
}

TEST_F(SliceChecksTest, NvidiaWithoutVfsWarnsAndSaysStartEnablesThem) {
  nvidia_gpu(0);
  profile_.slices = {vgpu_slice("vgpu0", "NVIDIA L40S-2Q")};
  const auto results = run();
  EXPECT_EQ(line(results, "nvidia-vfs"),
            "WARN  NVIDIA VFs: no VFs enabled on 0000:41:00.0, so their vGPU types cannot be read "
            "yet (mdevrun start enables them itself, as sriov-manage -e does, and disables them at "
            "exit). Fix: nothing, if start may do it; to see the creatable types now: sudo "
            "/usr/lib/nvidia/sriov-manage -e 0000:41:00.0, then mdevrun types");
  EXPECT_EQ(line(results, "sriov-pf:vgpu0"),
            "PASS  slice vgpu0 PF: 0000:41:00.0 (10de:26b9, driver nvidia): 0 of 4 VFs enabled; "
            "start enables 4 VFs (and disables them at exit)");
  EXPECT_EQ(line(results, "slice:vgpu0"),
            "PASS  slice vgpu0: would enable the VFs of 0000:41:00.0 and set the vGPU type on "
            "0000:41:00.4 if it is creatable there");
  EXPECT_EQ(line(results, "iommu-group:vgpu0"),
            "PASS  slice vgpu0 IOMMU group: 0000:41:00.4 does not exist yet (its VFs are not "
            "enabled): start checks its group once they are, and disables them again if it is "
            "not viable");
  for (const auto& r : results) EXPECT_NE(r.check, "vfio-pci");  // its VFs stay on nvidia
}

TEST_F(SliceChecksTest, NvidiaTypeCreatableOrNot) {
  nvidia_gpu(2);
  profile_.slices = {vgpu_slice("vgpu0", "NVIDIA L40S-2Q")};
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "nvidia-vfs"), "PASS  NVIDIA VFs: 0000:41:00.0: 2 of 4 VFs enabled");
  EXPECT_EQ(line(results, "slice:vgpu0"),
            "PASS  slice vgpu0: would set vGPU type 1148 (NVIDIA L40S-2Q) on VF 0000:41:00.4");
  EXPECT_EQ(line(results, "iommu-group:vgpu0"),
            "PASS  slice vgpu0 IOMMU group: 0000:41:00.4 is alone in IOMMU group 40");
  profile_.slices[0].vgpu_type_name = "NVIDIA L40S-48Q";
  EXPECT_THAT(line("slice:vgpu0"),
              HasSubstr("FAIL  slice vgpu0: no VF of 0000:41:00.0 can create vGPU type \"NVIDIA "
                        "L40S-48Q\" now; creatable now: 1148 NVIDIA L40S-2Q"));
}

TEST_F(SliceChecksTest, NoNvidiaGpu) {
  profile_.slices = {vgpu_slice("vgpu0", "NVIDIA L40S-2Q")};
  const auto results = run();
  EXPECT_THAT(line(results, "nvidia-vfs"),
              HasSubstr("FAIL  NVIDIA VFs: no NVIDIA GPU with SR-IOV (vendor 10de with "
                        "sriov_totalvfs) for the profile's nvidia-vgpu slices. Fix: install "
                        "NVIDIA's vGPU 17+ host driver"));
  EXPECT_THAT(line(results, "sriov-pf:vgpu0"),
              HasSubstr("FAIL  slice vgpu0 PF: no SR-IOV physical function from NVIDIA (10de)"));
}

TEST_F(SliceChecksTest, GvtgProfileOnAnIgpuWithoutGvtg) {
  profile_.slices.clear();
  MdevSpec gpu;
  gpu.id = "gpu0";
  gpu.parent = "0000:00:02.0";
  gpu.type = "i915-GVTg_V5_4";
  profile_.mdevs = {gpu};
  const auto results = run();
  EXPECT_EQ(line(results, "gvtg-on-new-igpu"),
            "FAIL  GVT-g on this iGPU: the iGPU 0000:00:02.0 (8086:46a6, driver xe) has no GVT-g "
            "(it ends with Gen9.5, 10th-gen Core): it offers 7 SR-IOV VFs instead. Fix: slice it "
            "with a VF: replace the i915-GVTg mdev with a \"vf\" slice, {\"id\": \"gpu0\", "
            "\"mechanism\": \"vf\", \"pf\": \"0000:00:02.0\"}, as the example profile "
            "intel-sriov-desktop.json does (profiles/ in the source, share/mdevrun/ once "
            "installed)");
  // It comes first: the i915-gvt fix cannot help this iGPU.
  const auto all = ids(results);
  EXPECT_LT(std::find(all.begin(), all.end(), "gvtg-on-new-igpu"),
            std::find(all.begin(), all.end(), "i915-gvt"));

  // A Gen9 iGPU in GVT-g mode registers mdev types.
  fs::create_directories(sys() / "class/mdev_bus");
  fs::create_directory_symlink("../../devices/pci0000:00/0000:00:02.0",
                               sys() / "class/mdev_bus/0000:00:02.0");
  EXPECT_EQ(line("gvtg-on-new-igpu"),
            "PASS  GVT-g on this iGPU: 0000:00:02.0 (8086:46a6, driver xe) offers mdev types");
}

// Scripts key on the ids: the same set whatever was found, none twice.
TEST_F(SliceChecksTest, IdsAreStableAndUnique) {
  discrete_gpu();
  nvidia_gpu(2);
  profile_.slices.push_back(pci_slice("gpu", "0000:01:00.0"));
  profile_.slices.push_back(vgpu_slice("vgpu0", "NVIDIA L40S-2Q"));
  const auto good = run();
  fs::remove_all(sys() / "bus/pci/drivers/vfio-pci");
  fs::remove_all(sys() / "kernel/iommu_groups");
  fs::remove(proc() / "interrupts");
  fs::remove_all(sys() / "bus/pci/devices/0000:41:00.0");
  const auto broken = run();
  EXPECT_EQ(worst_verdict(broken), Verdict::fail);
  EXPECT_EQ(ids(good), ids(broken));
  const auto all = ids(good);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  for (const char* id :
       {"iommu", "kernel-cmdline", "interrupt-remapping", "module:vfio", "module:vfio_iommu_type1",
        "vfio-pci", "nvidia-vfs", "sriov-pf:gpu0", "slice:gpu0", "iommu-group:gpu0", "slice:gpu",
        "iommu-group:gpu", "sriov-pf:vgpu0", "slice:vgpu0", "iommu-group:vgpu0", "vfio-container"})
    EXPECT_NE(std::find(all.begin(), all.end(), id), all.end()) << id;
}

}  // namespace
// A whole device that is not there has no VFs to wait for: the group line must not say "its VFs
// are not enabled" (it did, as a PASS), but that it was not checked, pointing at slice:<id>.
TEST_F(SliceChecksTest, AMissingWholeDeviceIsNotAVfWaitingToBeEnabled) {
  profile_.slices = {pci_slice("nic", "0000:00:05.0")};
  const auto results = run();
  EXPECT_THAT(line(results, "slice:nic"), HasSubstr("FAIL  slice nic: no PCI device 0000:00:05.0"));
  EXPECT_EQ(line(results, "iommu-group:nic"),
            "WARN  slice nic IOMMU group: not checked: 0000:00:05.0 does not exist (slice:nic says "
            "so). Fix: fix what slice:nic reports first");
}

}  // namespace mdevrun

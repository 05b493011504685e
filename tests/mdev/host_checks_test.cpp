// `mdevrun check` on fake hosts: a good host (the seed's GVT-g set-up on the fake sysfs, with
// /proc, /sys/module and /dev pieces in a temp folder) passes; each test takes one piece away and
// asserts the exact verdict and fix. One test runs the real qemu-system-x86_64.

#include <gmock/gmock.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "check/host_checks.hpp"
#include "check_line.hpp"
#include "devices/mdev_ensure.hpp"
#include "mdev_test_support.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kCpuinfo =
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse msr vmx ept\n\n";
constexpr const char* kDisplayHelp =
    "Available display backend types:\nnone\ngtk\nsdl\negl-headless\ncurses\nspice-app\ndbus\n";
constexpr const char* kVfioHelp =
    "vfio-pci options:\n  display=<OnOffAuto>    - on/off/auto (default: \"off\")\n"
    "  rombar=<uint32>        -  (default: 1)\n  sysfsdev=<str>\n";

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class HostChecksTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    if (HasFatalFailure()) return;
    host_tmp_.emplace("mdevrun-host");
    host_dir_ = host_tmp_->path();
    qemu_outputs_ = {
        {"--version", "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n"},
        {"-device vfio-pci,help", kVfioHelp},
        {"-device vfio-pci-nohotplug,help", std::string(kVfioHelp) + "  ramfb=<bool>\n"},
        {"-display help", kDisplayHelp},
        {"-spice help", "spice options:\n  addr=<str>\n"}};
    env_ = {{"DISPLAY", ":0"}};
    profile_.file = "/profiles/desk.json";
    profile_.name = "desk";
    profile_.machine.memory_mib = 4096;
    MdevSpec gpu;
    gpu.id = "gpu0";
    gpu.parent = "0000:00:02.0";
    gpu.type = "i915-GVTg_V4_4";
    gpu.uuid = kUuid1;
    gpu.display = OnOffAuto::on;
    gpu.rombar = false;
    profile_.mdevs = {gpu};
    profile_.display.gl = true;
  }
  void TearDown() override {
    host_tmp_.reset();
    FuseTest::TearDown();
  }

  // The seed's host: GVT-g parent on the fake sysfs, modules loaded, IOMMU on, /dev nodes there.
  void good_host(const nlohmann::json& config = kernel_like_config()) {
    mount(config);
    write_file(host_dir_ / "proc" / "cpuinfo", kCpuinfo);
    write_file(host_dir_ / "proc" / "cmdline",
               "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet intel_iommu=on\n");
    const fs::path sys = host_dir_ / "sys";
    fs::create_directories(sys);
    for (const char* part : {"class", "bus", "devices"})
      fs::create_directory_symlink(fake().sys() / part, sys / part);
    fs::create_directories(sys / "kernel" / "iommu_groups" / "0");
    for (const char* module : {"vfio", "vfio_iommu_type1", "mdev", "kvmgt", "kvm_intel"})
      fs::create_directories(sys / "module" / module);
    write_file(sys / "module" / "i915" / "parameters" / "enable_gvt", "Y\n");
    write_file(fake().dev() / "kvm", "");
    write_file(fake().dev() / "vfio" / "vfio", "");
    write_file(fake().dev() / "dri" / "renderD128", "");
  }
  fs::path sys() const { return host_dir_ / "sys"; }
  fs::path dev() { return fake().dev(); }

  HostView view() {
    HostView h;
    h.paths = {.sys = sys(), .dev = fake().dev(), .proc = host_dir_ / "proc"};
    h.getenv = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    h.memlock_bytes = memlock_;
    h.root = root_;
    h.can_access = [this](const fs::path& path, int mode) {
      return !denied_.count(path) && ::access(path.c_str(), mode) == 0;
    };
    h.run_qemu = [this](const std::vector<std::string>& argv) -> std::optional<ProgramOutput> {
      ++qemu_runs_;
      if (!qemu_found_) return std::nullopt;
      EXPECT_EQ(argv.at(0), profile_.qemu.binary);
      std::string args;
      for (std::size_t i = 1; i < argv.size(); ++i) args += (i > 1 ? " " : "") + argv[i];
      const auto it = qemu_outputs_.find(args);
      if (it == qemu_outputs_.end()) return ProgramOutput{1, "qemu: unknown option\n"};
      return ProgramOutput{0, it->second};
    };
    return h;
  }

  std::vector<CheckResult> run(bool with_profile = true) {
    return run_host_checks(view(), with_profile ? &profile_ : nullptr);
  }

  std::string line(const std::vector<CheckResult>& results, const std::string& id) {
    return testing::check_line(results, id);
  }

  void create_gpu() {
    ensure_mdevs(fake().host(), profile_.name, profile_.mdevs, EnsureMode::create);
  }

  std::optional<TempDir> host_tmp_;
  fs::path host_dir_;
  Profile profile_;
  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> qemu_outputs_;
  bool qemu_found_ = true;
  int qemu_runs_ = 0;
  std::optional<std::uint64_t> memlock_;
  bool root_ = true;
  std::set<fs::path> denied_;
};

TEST_F(HostChecksTest, TheSeedsHostPassesEveryCheck) {
  good_host();
  create_gpu();
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "cpu-virtualization"), "PASS  hardware virtualization: Intel VT-x");
  EXPECT_EQ(line(results, "iommu"), "PASS  IOMMU: enabled (1 IOMMU group)");
  EXPECT_EQ(line(results, "kernel-cmdline"), "PASS  kernel command line: has intel_iommu=on");
  EXPECT_EQ(line(results, "i915-gvt"), "PASS  i915 GVT-g: enabled (i915.enable_gvt=1)");
  EXPECT_EQ(line(results, "mdev-parents"), "PASS  mdev parents: 0000:00:02.0, mbochs, mdpy, mtty");
  EXPECT_EQ(line(results, "mdev:gpu0"),
            "PASS  mdev gpu0: 4dd50f26-ec08-11e8-b838-4bc3356865b6 exists (i915-GVTg_V4_4 on "
            "0000:00:02.0): start reuses it");
  EXPECT_EQ(line(results, "vfio-group:gpu0"),
            "PASS  mdev gpu0 vfio group: /dev/vfio/20 is accessible");
  EXPECT_EQ(line(results, "qemu"), "PASS  qemu: qemu-system-x86_64 7.2.22");
  EXPECT_EQ(line(results, "qemu-vfio-pci"), "PASS  qemu vfio-pci: offers sysfsdev and display");
  EXPECT_EQ(line(results, "display"), "PASS  qemu display: gtk is available");
  EXPECT_EQ(line(results, "gl"), "PASS  GL: X display :0");
}

std::vector<std::string> ids(const std::vector<CheckResult>& results) {
  std::vector<std::string> out;
  for (const auto& r : results) out.push_back(r.check);
  return out;
}

// Scripts key on the ids: a check keeps its id whatever it found and whatever its verdict, and no
// two results of one run share an id (two mdevs, one existing and one to create, as non-root).
TEST_F(HostChecksTest, CheckIdsAreStableAndUnique) {
  good_host();
  create_gpu();
  MdevSpec second = profile_.mdevs[0];
  second.id = "gpu1";
  second.uuid = kUuid2;
  second.display = OnOffAuto::off;
  second.ramfb = true;
  profile_.mdevs.push_back(second);
  root_ = false;
  const auto good = run();
  EXPECT_EQ(worst_verdict(good), Verdict::warn) << format_check_lines(good);

  qemu_outputs_["--version"] = "QEMU emulator version 3.0.0\n";
  memlock_ = 8 * 1024 * 1024;
  fs::remove_all(sys() / "kernel" / "iommu_groups" / "0");
  denied_.insert(dev() / "kvm");
  env_ = {{"WAYLAND_DISPLAY", "wayland-0"}};
  const auto broken = run();
  EXPECT_EQ(worst_verdict(broken), Verdict::fail);

  EXPECT_EQ(ids(good), ids(broken));
  const auto all = ids(good);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size())
      << format_check_lines(good);
  EXPECT_EQ(line(good, "qemu"), "PASS  qemu: qemu-system-x86_64 7.2.22");
  EXPECT_THAT(line(broken, "qemu"), HasSubstr("FAIL  qemu: qemu-system-x86_64 3.0.0: too old"));
  for (const char* id : {"cpu-virtualization",
                         "kvm",
                         "iommu",
                         "kernel-cmdline",
                         "module:vfio",
                         "module:vfio_iommu_type1",
                         "module:mdev",
                         "i915-gvt",
                         "module:kvmgt",
                         "mdev-parents",
                         "mdev:gpu0",
                         "mdev:gpu1",
                         "vfio-container",
                         "vfio-group:gpu0",
                         "vfio-group:gpu1",
                         "memlock",
                         "qemu",
                         "qemu-vfio-pci",
                         "qemu-ramfb",
                         "display",
                         "gl"})
    EXPECT_NE(std::find(all.begin(), all.end(), id), all.end()) << id;
}

TEST_F(HostChecksTest, MdevThatStartWouldCreatePasses) {
  good_host();
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "mdev:gpu0"),
            "PASS  mdev gpu0: i915-GVTg_V4_4 on 0000:00:02.0 has 4 free instances; start creates "
            "4dd50f26-ec08-11e8-b838-4bc3356865b6");
}

TEST_F(HostChecksTest, NoHardwareVirtualization) {
  good_host();
  write_file(host_dir_ / "proc" / "cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vme\n");
  fs::remove(dev() / "kvm");
  const auto results = run();
  EXPECT_EQ(line(results, "cpu-virtualization"),
            "FAIL  hardware virtualization: no vmx or svm flag in /proc/cpuinfo. Fix: enable Intel "
            "VT-x / AMD-V (SVM) in the firmware (BIOS/UEFI) setup");
  EXPECT_EQ(line(results, "kvm"),
            "FAIL  /dev/kvm: missing. Fix: enable hardware virtualization first (see above)");
}

TEST_F(HostChecksTest, DevKvmMissingOrNotAccessible) {
  good_host();
  fs::remove(dev() / "kvm");
  EXPECT_EQ(line(run(), "kvm"),
            "FAIL  /dev/kvm: missing. Fix: sudo modprobe kvm_intel; to load it at boot: echo "
            "kvm_intel | sudo tee /etc/modules-load.d/kvm_intel.conf");
  write_file(dev() / "kvm", "");
  denied_.insert(dev() / "kvm");
  EXPECT_EQ(line(run(), "kvm"),
            "FAIL  /dev/kvm: this user cannot open it read-write. Fix: sudo usermod -aG kvm $USER, "
            "then log in again");
}

TEST_F(HostChecksTest, KvmProblemsOnlyWarnForATcgProfile) {
  good_host();
  fs::remove(dev() / "kvm");
  profile_.machine.accel = "tcg";
  const auto results = run();
  EXPECT_THAT(line(results, "kvm"),
              HasSubstr("WARN  /dev/kvm: missing (the profile uses tcg: slow, but runs)"));
}

TEST_F(HostChecksTest, NoIommuAndNoKernelOption) {
  good_host();
  fs::remove_all(sys() / "kernel" / "iommu_groups" / "0");
  write_file(host_dir_ / "proc" / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  const auto results = run();
  const std::string fix =
      "add intel_iommu=on to the kernel command line (GRUB: GRUB_CMDLINE_LINUX_DEFAULT in "
      "/etc/default/grub, then update-grub or grub2-mkconfig -o /boot/grub2/grub.cfg; "
      "systemd-boot: /etc/kernel/cmdline), then reboot (enable VT-d in the firmware setup too)";
  EXPECT_EQ(line(results, "iommu"),
            "FAIL  IOMMU: not enabled (no IOMMU groups in /sys/kernel/iommu_groups). Fix: " + fix);
  EXPECT_EQ(line(results, "kernel-cmdline"),
            "FAIL  kernel command line: intel_iommu=on is missing. Fix: " + fix);
}

// AMD's IOMMU is on by default once the firmware enables it; amd_iommu= has no "on" value.
TEST_F(HostChecksTest, NoIommuOnAmdNeedsTheFirmwareOnly) {
  good_host();
  write_file(host_dir_ / "proc" / "cpuinfo",
             "vendor_id\t: AuthenticAMD\nflags\t\t: fpu vme svm npt\n");
  fs::remove_all(sys() / "kernel" / "iommu_groups" / "0");
  write_file(host_dir_ / "proc" / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  const auto results = run();
  EXPECT_EQ(line(results, "iommu"),
            "FAIL  IOMMU: not enabled (no IOMMU groups in /sys/kernel/iommu_groups). Fix: enable "
            "AMD-Vi (often the \"SVM\" and \"IOMMU\" options) in the firmware setup, then "
            "reboot; no kernel parameter is needed on AMD (iommu=pt is optional tuning)");
  EXPECT_EQ(line(results, "kernel-cmdline"),
            "PASS  kernel command line: no Intel IOMMU option needed on this CPU");
}

TEST_F(HostChecksTest, KernelOptionMissingButIommuOnIsAWarning) {
  good_host();
  write_file(host_dir_ / "proc" / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  const auto results = run();
  EXPECT_THAT(line(results, "kernel-cmdline"),
              HasSubstr("WARN  kernel command line: intel_iommu=on is missing. Fix: add "
                        "intel_iommu=on to the kernel command line"));
  EXPECT_EQ(worst_verdict(results), Verdict::warn);
}

TEST_F(HostChecksTest, EachMissingModuleFailsWithItsModprobe) {
  good_host();
  for (const std::string module : {"vfio", "vfio_iommu_type1", "mdev", "kvmgt"}) {
    SCOPED_TRACE(module);
    fs::remove_all(sys() / "module" / module);
    const auto results = run();
    const std::string text = line(results, "module:" + module);
    EXPECT_THAT(text, HasSubstr("FAIL  module " + module + ": not loaded"));
    EXPECT_THAT(text, HasSubstr("Fix: sudo modprobe " + module + "; to load it at boot: echo " +
                                module + " | sudo tee /etc/modules-load.d/" + module + ".conf"));
    EXPECT_EQ(worst_verdict(results), Verdict::fail);
    fs::create_directories(sys() / "module" / module);
  }
}

TEST_F(HostChecksTest, GvtNotEnabled) {
  good_host();
  write_file(sys() / "module" / "i915" / "parameters" / "enable_gvt", "N\n");
  EXPECT_EQ(line(run(), "i915-gvt"),
            "FAIL  i915 GVT-g: i915.enable_gvt is not 1. Fix: printf 'options i915 "
            "enable_gvt=1\\n' | sudo tee /etc/modprobe.d/i915.conf, rebuild the initramfs "
            "(Debian/Ubuntu: sudo update-initramfs -u; Fedora: sudo dracut -f; Arch: sudo "
            "mkinitcpio -P) and reboot (or add i915.enable_gvt=1 to the kernel command line)");
}

TEST_F(HostChecksTest, NvidiaNeedsTheHostDriverAndTheVmUuid) {
  good_host(one_type("0000:41:00.0", "nvidia-259", 2));
  profile_.mdevs[0].parent = "0000:41:00.0";
  profile_.mdevs[0].type = "nvidia-259";
  profile_.mdevs[0].display = OnOffAuto::off;
  const auto results = run();
  EXPECT_EQ(line(results, "nvidia-vgpu-driver"),
            "FAIL  NVIDIA vGPU host driver: nvidia_vgpu_vfio is not loaded. Fix: install NVIDIA's "
            "vGPU host driver (Virtual GPU Manager for KVM), then sudo modprobe nvidia_vgpu_vfio");
  EXPECT_EQ(line(results, "vm-uuid:gpu0"),
            "FAIL  mdev gpu0 -uuid: the NVIDIA guest driver needs the VM's UUID to be the mdev's. "
            "Fix: set \"vm-uuid\": true on mdev \"gpu0\" in /profiles/desk.json");
  fs::create_directories(sys() / "module" / "nvidia_vgpu_vfio");
  profile_.mdevs[0].vm_uuid = true;
  const auto fixed = run();
  EXPECT_EQ(line(fixed, "vm-uuid:gpu0"), "PASS  mdev gpu0 -uuid: the mdev's uuid is the VM's");
  EXPECT_EQ(line(fixed, "nvidia-vgpu-driver"),
            "PASS  NVIDIA vGPU host driver: loaded (nvidia_vgpu_vfio)");
}

TEST_F(HostChecksTest, NoMdevParents) {
  good_host({{"parents", nlohmann::json::array()}});
  const auto results = run();
  EXPECT_EQ(line(results, "mdev-parents"),
            "FAIL  mdev parents: none registered (/sys/class/mdev_bus is empty or missing). Fix: "
            "enable GVT-g: i915.enable_gvt=1 and the kvmgt module (see above)");
}

// A profile without mdevs needs no mdev parent, no vfio and no IOMMU: none of them may fail or
// warn, and one line says why there is nothing to check.
TEST_F(HostChecksTest, ProfileWithoutMdevsNeedsNoParentVfioOrIommu) {
  good_host({{"parents", nlohmann::json::array()}});
  for (const char* module : {"vfio", "vfio_iommu_type1", "mdev", "kvmgt"})
    fs::remove_all(sys() / "module" / module);
  fs::remove_all(sys() / "kernel" / "iommu_groups" / "0");
  write_file(host_dir_ / "proc" / "cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  fs::remove(dev() / "vfio" / "vfio");
  profile_.mdevs.clear();
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  EXPECT_EQ(line(results, "mdev-parents"),
            "PASS  mdev parents: none needed (the profile has no mdevs)");
  for (const auto& r : results) EXPECT_EQ(r.check.rfind("module:", 0), std::string::npos);

  // A host PCI device passed through with vfio-pci still needs vfio, but no mdev.
  profile_.devices = {{"nic0", "vfio-pci", {{"host", "0000:03:00.0"}}, false}};
  const auto passthrough = run();
  EXPECT_THAT(line(passthrough, "module:vfio"), HasSubstr("FAIL  module vfio: not loaded"));
  EXPECT_EQ(line(passthrough, "mdev-parents"),
            "PASS  mdev parents: none needed (the profile has no mdevs)");
}

// Without a profile, `check` asks whether this host can run an mdev VM at all: no parent fails.
TEST_F(HostChecksTest, WithoutAProfileNoMdevParentFails) {
  good_host({{"parents", nlohmann::json::array()}});
  EXPECT_THAT(line(run(false), "mdev-parents"),
              HasSubstr("FAIL  mdev parents: none registered (/sys/class/mdev_bus is empty or "
                        "missing)"));
}

TEST_F(HostChecksTest, TypeNotOfferedOrExhausted) {
  good_host(one_type("0000:00:02.0", "i915-GVTg_V4_4", 1));
  profile_.mdevs[0].type = "i915-GVTg_V4_1";
  EXPECT_EQ(line(run(), "mdev:gpu0"),
            "FAIL  mdev gpu0: parent 0000:00:02.0 does not offer type i915-GVTg_V4_1. Fix: pick a "
            "parent and type that `mdevrun types` lists");
  profile_.mdevs[0].type = "i915-GVTg_V4_4";
  fake().control("set-instances 0000:00:02.0 i915-GVTg_V4_4 0");
  EXPECT_EQ(line(run(), "mdev:gpu0"),
            "FAIL  mdev gpu0: type i915-GVTg_V4_4 on 0000:00:02.0 has no free instance. Fix: stop "
            "a VM that uses one, or pick a smaller type (`mdevrun types`)");
}

TEST_F(HostChecksTest, ExistingMdevOfAnotherType) {
  good_host();
  auto other = profile_.mdevs;
  other[0].type = "i915-GVTg_V4_8";
  ensure_mdevs(fake().host(), "desk", other, EnsureMode::create);
  EXPECT_EQ(line(run(), "mdev:gpu0"),
            "FAIL  mdev gpu0: 4dd50f26-ec08-11e8-b838-4bc3356865b6 exists as i915-GVTg_V4_8 on "
            "0000:00:02.0, the profile wants i915-GVTg_V4_4 on 0000:00:02.0. Fix: remove it (echo "
            "1 | sudo tee /sys/bus/mdev/devices/4dd50f26-ec08-11e8-b838-4bc3356865b6/remove) or "
            "give the profile another uuid");
}

TEST_F(HostChecksTest, DesktopUserWhoCannotCreateTheMdev) {
  good_host();
  root_ = false;
  denied_.insert(sys() / "class/mdev_bus/0000:00:02.0/mdev_supported_types/i915-GVTg_V4_4/create");
  const auto results = run();
  EXPECT_THAT(line(results, "mdev-create:gpu0"),
              HasSubstr("FAIL  mdev gpu0 create: this user cannot write "));
  EXPECT_THAT(line(results, "mdev-create:gpu0"),
              HasSubstr("Fix: create it once as root and keep it: mdevrun export "
                        "/profiles/desk.json --mdevctl | sudo sh (see the README's desktop "
                        "set-up)"));
  EXPECT_THAT(line(results, "vfio-group:gpu0"),
              HasSubstr("WARN  mdev gpu0 vfio group: the mdev does not exist yet"));
}

TEST_F(HostChecksTest, DesktopUserWhoCannotOpenTheVfioGroup) {
  good_host();
  create_gpu();
  root_ = false;
  denied_.insert(dev() / "vfio" / "20");
  EXPECT_EQ(line(run(), "vfio-group:gpu0"),
            "FAIL  mdev gpu0 vfio group: /dev/vfio/20: this user cannot open it. Fix: echo "
            "'SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\"' | sudo tee "
            "/etc/udev/rules.d/72-mdevrun-vfio.rules && sudo udevadm control --reload && sudo "
            "udevadm trigger --subsystem-match=vfio, and add the user to kvm: sudo usermod -aG kvm "
            "$USER (log in again)");
}

TEST_F(HostChecksTest, VfioContainerMissing) {
  good_host();
  fs::remove(dev() / "vfio" / "vfio");
  EXPECT_EQ(line(run(), "vfio-container"),
            "FAIL  /dev/vfio/vfio: missing. Fix: sudo modprobe vfio; to load it at boot: echo vfio "
            "| sudo tee /etc/modules-load.d/vfio.conf");
}

TEST_F(HostChecksTest, MemlockTooSmallForADesktopUser) {
  good_host();
  root_ = false;
  memlock_ = 8 * 1024 * 1024;
  const std::string fix =
      "Fix: echo '@kvm - memlock unlimited' | sudo tee /etc/security/limits.d/mdevrun.conf, be "
      "in group kvm, log in again (check with ulimit -l)";
  EXPECT_EQ(line(run(), "memlock"),
            "FAIL  RLIMIT_MEMLOCK: 8 MiB: vfio needs guest memory + 1 GiB = 5120 MiB. " + fix);
  memlock_ = std::uint64_t{6} << 30;
  EXPECT_EQ(line(run(), "memlock"), "PASS  RLIMIT_MEMLOCK: 6144 MiB (vfio needs 5120 MiB)");
  memlock_.reset();
  EXPECT_EQ(line(run(), "memlock"), "PASS  RLIMIT_MEMLOCK: unlimited");
}

TEST_F(HostChecksTest, QemuMissing) {
  good_host();
  qemu_found_ = false;
  const auto results = run();
  EXPECT_EQ(line(results, "qemu"),
            "FAIL  qemu: qemu-system-x86_64 not found or not executable. Fix: install qemu "
            "(Debian/Ubuntu, Fedora, Arch: qemu-system-x86)");
  EXPECT_EQ(qemu_runs_, 1);  // nothing more is asked of a qemu that is not there
}

TEST_F(HostChecksTest, QemuWithoutVfioDisplayOrRamfb) {
  good_host();
  qemu_outputs_["-device vfio-pci,help"] = "vfio-pci options:\n  host=<str>\n  sysfsdev=<str>\n";
  qemu_outputs_["-device vfio-pci-nohotplug,help"] = "vfio-pci-nohotplug options:\n";
  profile_.mdevs[0].ramfb = true;
  const auto results = run();
  EXPECT_EQ(line(results, "qemu-vfio-pci"),
            "FAIL  qemu vfio-pci: -device vfio-pci,help does not list display. Fix: use a qemu "
            "built with VFIO, as distributions build it (Debian/Ubuntu, Fedora, Arch: "
            "qemu-system-x86)");
  EXPECT_EQ(line(results, "qemu-ramfb"),
            "FAIL  qemu vfio-pci-nohotplug: -device vfio-pci-nohotplug,help does not list ramfb. "
            "Fix: use qemu 3.1 or later, or set \"ramfb\": false in the profile");
}

// Each backend's fix names the package that brings its module, per distribution family.
TEST_F(HostChecksTest, DisplayBackendMissing) {
  good_host();
  qemu_outputs_["-display help"] = "Available display backend types:\nnone\negl-headless\n";
  EXPECT_EQ(line(run(), "display"),
            "FAIL  qemu display: gtk: not listed by -display help. Fix: install qemu's gtk UI "
            "module (Debian/Ubuntu: qemu-system-gui; Fedora, Arch: qemu-ui-gtk)");
  profile_.display.backend = DisplayBackend::egl_headless;
  qemu_outputs_["-display help"] = "Available display backend types:\nnone\n";
  EXPECT_EQ(line(run(), "display"),
            "FAIL  qemu display: egl-headless: not listed by -display help. Fix: install qemu's "
            "egl-headless UI module (Debian/Ubuntu: qemu-system-common; Fedora, Arch: "
            "qemu-ui-egl-headless)");
  profile_.display.backend = DisplayBackend::spice;
  qemu_outputs_.erase("-spice help");
  EXPECT_EQ(line(run(), "display"),
            "FAIL  qemu display: spice: -spice help: spice is not available. Fix: install qemu's "
            "spice UI module (Debian/Ubuntu: qemu-system-common; Fedora, Arch: "
            "qemu-ui-spice-core)");
}

TEST_F(HostChecksTest, GtkGlWithoutXOrWayland) {
  good_host();
  env_.clear();
  EXPECT_EQ(line(run(), "gl"),
            "FAIL  GL: gtk,gl=on: needs X or Wayland: neither DISPLAY nor WAYLAND_DISPLAY is set. "
            "Fix: run it from the desktop session, or use egl-headless or spice with a render node "
            "(/dev/dri/renderD128)");
  env_ = {{"WAYLAND_DISPLAY", "wayland-0"}};
  EXPECT_EQ(line(run(), "gl"), "PASS  GL: Wayland display wayland-0");
}

TEST_F(HostChecksTest, EglHeadlessNeedsARenderNode) {
  good_host();
  profile_.display.backend = DisplayBackend::egl_headless;
  EXPECT_EQ(line(run(), "gl"), "PASS  GL: render node /dev/dri/renderD128 is accessible");
  root_ = false;
  denied_.insert(dev() / "dri" / "renderD128");
  EXPECT_EQ(
      line(run(), "gl"),
      "FAIL  GL: render node /dev/dri/renderD128: this user cannot open it. Fix: sudo usermod "
      "-aG render $USER, then log in again");
  fs::remove(dev() / "dri" / "renderD128");
  EXPECT_EQ(line(run(), "gl"),
            "FAIL  GL: render node: no /dev/dri/renderD* node (egl-headless GL renders on the host "
            "GPU). Fix: load the host GPU's DRM driver (e.g. sudo modprobe i915), or name an "
            "existing node in display.rendernode");
}

TEST_F(HostChecksTest, GvtDisplayWithoutGl) {
  good_host();
  profile_.display = {};
  profile_.display.backend = DisplayBackend::vnc;
  EXPECT_EQ(line(run(), "mdev-display:gpu0"),
            "FAIL  mdev gpu0 display: display=on without a GL display: a dmabuf vGPU (GVT-g) needs "
            "one. Fix: set \"display\": {\"backend\": \"gtk\", \"gl\": true} (or egl-headless) in "
            "/profiles/desk.json");
}

// A disk the profile names but that is not there fails `check`, which would otherwise pass.
TEST_F(HostChecksTest, MissingDiskFails) {
  good_host();
  create_gpu();
  DiskSpec disk;
  disk.file = host_dir_ / "rootfs.qcow2";
  disk.format = "qcow2";
  profile_.disks = {disk};
  const auto results = run();
  EXPECT_EQ(worst_verdict(results), Verdict::fail);
  EXPECT_EQ(line(results, "file:/disks/0/file"),
            "FAIL  disks[0].file: " + disk.file.string() +
                ": does not exist. Fix: create it (qemu-img create -f qcow2 " + disk.file.string() +
                " 20G) or fix \"file\" in /profiles/desk.json");
  std::ofstream(disk.file) << "";
  EXPECT_EQ(line(run(), "file:/disks/0/file"), "PASS  disks[0].file: " + disk.file.string());
}

TEST_F(HostChecksTest, WithoutAProfileOnlyHostChecks) {
  good_host();
  const auto results = run(false);
  EXPECT_EQ(worst_verdict(results), Verdict::pass) << format_check_lines(results);
  for (const auto& r : results) EXPECT_EQ(r.check.find("gpu0"), std::string::npos);
}

TEST_F(HostChecksTest, RealQemu) {
  good_host();
  profile_.display.backend = DisplayBackend::egl_headless;
  HostView h = view();
  h.run_qemu = HostView::of(Host::from_env()).run_qemu;
  const auto results = run_host_checks(h, &profile_);
  EXPECT_THAT(line(results, "qemu"), HasSubstr("PASS  qemu: qemu-system-x86_64 7.2."));
  EXPECT_EQ(line(results, "qemu-vfio-pci"), "PASS  qemu vfio-pci: offers sysfsdev and display");
  EXPECT_EQ(line(results, "display"), "PASS  qemu display: egl-headless is available");
}

// The CLI on the same good host, through the environment: exit 0, then 1 once a check fails.
TEST_F(HostChecksTest, CliExitCodeFollowsTheWorstVerdict) {
  good_host();
  create_gpu();
  const fs::path profile = host_dir_ / "desk.json";
  std::ofstream(profile) << R"({"name": "desk", "machine": {"accel": "kvm", "memory": "4G"},
    "mdevs": [{"id": "gpu0", "parent": "0000:00:02.0", "type": "i915-GVTg_V4_4",
               "uuid": ")"
                         << kUuid1 << R"(", "display": true}],
    "display": {"backend": "egl-headless", "rendernode": "/dev/dri/renderD128"}})";
  const std::string env = "env MDEVRUN_SYSFS_ROOT=" + sys().string() +
                          " MDEVRUN_DEV_ROOT=" + dev().string() +
                          " MDEVRUN_PROC_ROOT=" + (host_dir_ / "proc").string() + " ";
  const auto ok = run_shell(env + MDEVRUN_BIN + " check --json " + profile.string());
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(nlohmann::json::parse(ok.out).at("result"), "pass");
  fs::remove(dev() / "kvm");
  const auto failed = run_shell(env + MDEVRUN_BIN + " check " + profile.string());
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_THAT(failed.out, HasSubstr("\nFAIL  /dev/kvm: missing. Fix: sudo modprobe kvm_intel"));
  const auto bad = run_shell(env + MDEVRUN_BIN + " check /nonexistent.json 2>/dev/null");
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace mdevrun::testing

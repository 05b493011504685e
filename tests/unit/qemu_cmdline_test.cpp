#include "qemu/qemu_cmdline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/uuid.hpp"
#include "devices/pci_sysfs.hpp"
#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

const fs::path kSource = MDEVRUN_SOURCE_DIR;

// The resolution `start` makes on a host where every mdev already exists under /sys.
std::vector<ResolvedMdev> resolve(const Profile& p) {
  std::vector<ResolvedMdev> out;
  for (const auto& spec : p.mdevs) {
    ResolvedMdev m;
    m.id = spec.id;
    m.uuid = spec.uuid.value_or(derive_mdev_uuid(p.name, spec.id));
    m.type = spec.type;
    m.sysfs_path = "/sys/bus/mdev/devices/" + m.uuid;
    out.push_back(m);
  }
  return out;
}

QemuRuntimePaths paths_for(const std::string& name) {
  const fs::path dir = "/run/mdevrun/" + name;
  const fs::path state = "/var/lib/mdevrun/" + name;
  return {dir / "qmp.sock",   dir / "qmp-cli.sock", dir / "OVMF_VARS.fd",
          dir / "spice.sock", dir / "serial.sock",  dir,
          dir / "swtpm.sock", state / "tpm",        state / "OVMF_VARS.fd"};
}

// PCI slices as start would pick them on a host where VF k of a PF sits at offset 1 + k.
std::vector<ResolvedSlice> resolve_slices(const Profile& p) {
  std::vector<ResolvedSlice> out;
  for (const auto& spec : p.slices) {
    ResolvedSlice r{.id = spec.id, .mechanism = spec.mechanism, .address = spec.address};
    if (spec.mechanism != SliceMechanism::pci)
      r.address = vf_address(spec.pf.address.value_or("0000:00:00.0"), 1, 1, spec.vf.value_or(0))
                      .value_or("");
    out.push_back(r);
  }
  return out;
}

std::vector<std::string> argv_of(const Profile& p) {
  return build_qemu_argv(p, resolve(p), resolve_slices(p), paths_for(p.name));
}

Profile from_text(const std::string& text) {
  return profile_from_document(parse_profile_document(text, "test.json", "/profiles"));
}

bool contains(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

// One argv element per line, the checkout's own path replaced so the files hold in any clone.
std::string golden_text(const std::vector<std::string>& argv) {
  std::string out;
  const std::string src = (kSource / "profiles").string();
  for (std::string a : argv) {
    for (auto pos = a.find(src); pos != std::string::npos; pos = a.find(src))
      a.replace(pos, src.size(), "@PROFILES@");
    out += a + "\n";
  }
  return out;
}

class GoldenArgv : public testing::TestWithParam<std::string> {};

TEST_P(GoldenArgv, MatchesCommittedFile) {
  const fs::path profile = kSource / "profiles" / GetParam();
  const std::string actual = golden_text(argv_of(load_profile(profile)));
  std::string stem = GetParam();
  std::replace(stem.begin(), stem.end(), '/', '_');
  const fs::path golden = kSource / "tests/golden" / (fs::path(stem).stem().string() + ".args");
  if (std::getenv("MDEVRUN_UPDATE_GOLDEN")) {
    std::ofstream(golden) << actual;
    GTEST_SUCCEED() << "rewrote " << golden;
    return;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in) << golden << " is missing; run the test with MDEVRUN_UPDATE_GOLDEN=1";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "argv changed; if intended, rerun with MDEVRUN_UPDATE_GOLDEN=1 and review the diff";
}

INSTANTIATE_TEST_SUITE_P(Profiles, GoldenArgv,
                         testing::Values("gvtg-desktop.json", "nvidia-vgpu.json",
                                         "headless-compute.json", "dev/base.json",
                                         "dev/driver-dev.json", "intel-sriov-desktop.json",
                                         "nvidia-vgpu17.json", "gpu-passthrough.json",
                                         "win11-vgpu-desktop.json", "dev/shared-folder.json"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// Regression: a fixed default of display :0 made every second VNC VM fail to start.
TEST(QemuCmdline, VncWithoutListenTakesTheFirstFreeDisplay) {
  const auto argv = argv_of(from_text(R"({"name": "vm", "display": {"backend": "vnc"}})"));
  const auto display = std::find(argv.begin(), argv.end(), "-display");
  ASSERT_NE(display, argv.end());
  EXPECT_EQ(*(display + 1), "vnc=127.0.0.1:0,to=99");
  const auto exact =
      argv_of(from_text(R"({"name": "vm", "display": {"backend": "vnc", "listen": "0.0.0.0:3"}})"));
  EXPECT_TRUE(contains(exact, "vnc=0.0.0.0:3"));
}

TEST(QemuCmdline, SeedProfileGivesTheSeedLine) {
  const auto argv = argv_of(load_profile(kSource / "profiles/gvtg-desktop.json"));
  EXPECT_TRUE(contains(argv, "-nodefaults"));
  const auto display = std::find(argv.begin(), argv.end(), "-display");
  ASSERT_NE(display, argv.end());
  EXPECT_EQ(*(display + 1), "gtk,gl=on");
  bool found = false;
  for (const auto& a : argv)
    found |= a.rfind(
                 "vfio-pci,id=gpu0,sysfsdev=/sys/bus/mdev/devices/"
                 "4dd50f26-ec08-11e8-b838-4bc3356865b6,display=on,rombar=0",
                 0) == 0;
  EXPECT_TRUE(found);
}

TEST(QemuCmdline, EscapesCommasInProfileValues) {
  const auto argv = argv_of(from_text(R"({"name": "vm", "disks": [{"file": "a,b.img"}],
      "serial": {"mode": "file", "path": "/tmp/x,y"},
      "devices": [{"id": "d0", "driver": "usb-tablet", "properties": {"serial": "1,2"}}]})"));
  EXPECT_TRUE(contains(argv, "file=/profiles/a,,b.img,format=raw,if=none,id=mdevrun-drive0"));
  EXPECT_TRUE(contains(argv, "file,id=mdevrun-serial0,path=/tmp/x,,y"));
  EXPECT_TRUE(contains(argv, "usb-tablet,id=d0,serial=1,,2"));
}

// The default: qemu's serial connects to the supervisor's socket in the instance folder (qemu is
// the client, so nothing the guest writes early is dropped while no one is connected).
TEST(QemuCmdline, SerialConsoleIsTheDefaultAndConnectsToTheSupervisor) {
  const auto argv = argv_of(from_text(R"({"name": "vm"})"));
  EXPECT_TRUE(
      contains(argv, "socket,id=mdevrun-serial0,path=/run/mdevrun/vm/serial.sock,server=off"));
  EXPECT_TRUE(contains(argv, "chardev:mdevrun-serial0"));
  const auto none = argv_of(from_text(R"({"name": "vm", "serial": "none"})"));
  EXPECT_FALSE(contains(none, "-serial"));
  EXPECT_FALSE(contains(none, "-chardev"));
  const auto explicit_console =
      argv_of(from_text(R"({"name": "vm", "serial": {"mode": "console"}})"));
  EXPECT_EQ(explicit_console, argv);
}

TEST(QemuCmdline, KernelArgumentsAreNotOptionStrings) {
  const auto argv = argv_of(from_text(
      R"({"name": "vm", "kernel": {"image": "/k,1", "append": "console=ttyS0,115200"}})"));
  EXPECT_TRUE(contains(argv, "/k,1"));
  EXPECT_TRUE(contains(argv, "console=ttyS0,115200"));
}

TEST(QemuCmdline, PcPutsMdevsOnPciZero) {
  const auto argv = argv_of(from_text(
      R"({"name": "vm", "machine": {"type": "pc"}, "mdevs": [{"id": "m0", "type": "mtty-2"}]})"));
  EXPECT_FALSE(std::any_of(argv.begin(), argv.end(),
                           [](const auto& a) { return a.find("pcie-root-port") == 0; }));
  EXPECT_TRUE(std::any_of(argv.begin(), argv.end(),
                          [](const auto& a) { return a.find(",bus=pci.0") != std::string::npos; }));
}

TEST(QemuCmdline, EachMdevGetsItsOwnRootPortOnQ35) {
  const auto argv = argv_of(from_text(R"({"name": "vm", "mdevs": [
      {"id": "a", "type": "mtty-1"}, {"id": "b", "type": "mtty-2", "ramfb": true, "display": "on"}]})"));
  EXPECT_TRUE(contains(argv, "pcie-root-port,id=mdevrun-slot-a,chassis=1"));
  EXPECT_TRUE(contains(argv, "pcie-root-port,id=mdevrun-slot-b,chassis=2"));
  const std::string b_uuid = derive_mdev_uuid("vm", "b");
  EXPECT_TRUE(contains(argv, "vfio-pci-nohotplug,id=b,sysfsdev=/sys/bus/mdev/devices/" + b_uuid +
                                 ",display=on,ramfb=on,bus=mdevrun-slot-b"));
}

TEST(QemuCmdline, SameProfileSameArgv) {
  const Profile p = load_profile(kSource / "profiles/dev/driver-dev.json");
  EXPECT_EQ(argv_of(p), argv_of(load_profile(kSource / "profiles/dev/driver-dev.json")));
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

// PCI slices come after every mdev, each on its own root port, as vfio-pci,host=.
TEST(QemuCmdline, SlicesGetVfioPciHostOnTheirOwnSlots) {
  const Profile p = from_text(R"({"name": "vm", "machine": {"accel": "tcg"},
    "display": {"backend": "none"},
    "mdevs": [{"id": "tty", "parent": "mtty", "type": "mtty-2"}],
    "slices": [
      {"id": "vf0", "mechanism": "vf", "pf": "0000:00:04.0", "rombar": false},
      {"id": "gpu", "mechanism": "nvidia-vgpu", "vgpu-type": 1148, "display": "on", "ramfb": true},
      {"id": "nic", "mechanism": "pci", "address": "0000:00:05.0"}]})");
  std::vector<ResolvedSlice> slices = {
      {.id = "vf0", .mechanism = SliceMechanism::vf, .address = "0000:00:04.1"},
      {.id = "gpu", .mechanism = SliceMechanism::nvidia_vgpu, .address = "0000:41:00.4"},
      {.id = "nic", .mechanism = SliceMechanism::pci, .address = "0000:00:05.0"}};
  const auto argv = build_qemu_argv(p, resolve(p), slices, paths_for(p.name));
  std::vector<std::string> devices;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-device") devices.push_back(argv[i + 1]);
  ASSERT_EQ(devices.size(), 8u);
  EXPECT_EQ(devices[2], "pcie-root-port,id=mdevrun-slot-vf0,chassis=2");
  EXPECT_EQ(devices[3], "vfio-pci,id=vf0,host=0000:00:04.1,rombar=0,bus=mdevrun-slot-vf0");
  EXPECT_EQ(devices[5],
            "vfio-pci-nohotplug,id=gpu,host=0000:41:00.4,display=on,ramfb=on,bus=mdevrun-slot-gpu");
  EXPECT_EQ(devices[7], "vfio-pci,id=nic,host=0000:00:05.0,bus=mdevrun-slot-nic");
}

}  // namespace
}  // namespace mdevrun

// `mdevrun export PROFILE --libvirt` against the real libvirt: virt-xml-validate accepts the XML,
// and a libvirtd started here turns it into a qemu argv (`virsh domxml-to-native qemu-argv`)
// whose vfio device has the same driver, sysfsdev, display, ramfb and rombar as mdevrun's own, and
// whose desktop devices (TPM, secure flash, virtio-fs, vdagent, USB, audio, boot order) match.
//
// The test starts virtlogd and libvirtd itself, as user nobody (libvirt's session mode: every
// socket, cache and state file lives in a private temp folder), on their unix sockets; both are
// killed and reaped, and the folder deleted, when the suite ends. CI machines run no services.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pci_tree.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using mdevrun::testing::run_shell;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uid_t kNobody = 65534;

// Polls until `path` exists or `limit` passes (the daemon creates its socket when ready).
bool wait_for(const fs::path& path, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  std::error_code ec;
  while (!fs::exists(path, ec)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Waits (bounded) for child `pid`; true once reaped.
bool reap(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class LibvirtDaemons {
 public:
  LibvirtDaemons() {
    dir_ = tmp_.path();
    fs::create_directories(dir_ / "run");
    for (const fs::path& p : {dir_, dir_ / "run"})
      if (::chown(p.c_str(), kNobody, kNobody) != 0) throw std::runtime_error("chown failed");
    fs::permissions(dir_ / "run", fs::perms::owner_all);
    env_ = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=" + dir_.string(),
            "XDG_RUNTIME_DIR=" + (dir_ / "run").string(),
            "XDG_CONFIG_HOME=" + (dir_ / "config").string(),
            "XDG_CACHE_HOME=" + (dir_ / "cache").string(),
            "XDG_DATA_HOME=" + (dir_ / "data").string(),
            "LIBVIRT_AUTOSTART=0"};
    // --timeout: even a leaked daemon exits on its own once idle.
    spawn({"/usr/sbin/virtlogd", "--timeout", "120"}, "virtlogd.log");
    if (!wait_for(dir_ / "run" / "libvirt" / "virtlogd-sock", std::chrono::seconds(30)))
      throw std::runtime_error("virtlogd did not create its socket within 30 s");
    spawn({"/usr/sbin/libvirtd", "--timeout", "120"}, "libvirtd.log");
    if (!wait_for(socket(), std::chrono::seconds(30)))
      throw std::runtime_error("libvirtd did not create its socket within 30 s");
  }
  ~LibvirtDaemons() {
    for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) {
      ::kill(-*it, SIGTERM);  // each daemon leads its own process group
      if (!reap(*it, std::chrono::seconds(10))) {
        ::kill(-*it, SIGKILL);
        reap(*it, std::chrono::seconds(10));
      }
    }
  }

  fs::path socket() const { return dir_ / "run" / "libvirt" / "libvirt-sock"; }
  std::string uri() const { return "qemu+unix:///session?socket=" + socket().string(); }
  const fs::path& dir() const { return dir_; }

 private:
  void spawn(std::vector<std::string> args, const std::string& log) {
    const std::string log_path = (dir_ / log).string();
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::setsid();
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)
        ::_exit(126);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the test died: go too
      if (::getppid() != parent) ::_exit(1);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    pids_.push_back(pid);
  }

  mdevrun::testing::TempDir tmp_{"mdevrun-libvirt"};  // removed after the daemons are gone
  fs::path dir_;
  std::vector<std::string> env_;
  std::vector<pid_t> pids_;
};

// The vfio device's properties, as strings ("on"/"off" for booleans), keyed by name.
using Props = std::map<std::string, std::string>;

Props from_mdevrun_option(const std::string& option) {
  Props props;
  std::size_t start = 0;
  bool first = true;
  while (start <= option.size()) {
    const auto comma = option.find(',', start);
    const std::string item = option.substr(start, comma - start);
    if (first)
      props["driver"] = item;
    else
      props[item.substr(0, item.find('='))] = item.substr(item.find('=') + 1);
    first = false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return props;
}

Props from_libvirt_json(const json& device) {
  Props props;
  for (const auto& [key, value] : device.items()) {
    if (value.is_boolean())
      props[key] = value.get<bool>() ? "on" : "off";
    else if (value.is_number())
      props[key] = std::to_string(value.get<long>());
    else if (value.is_string())
      props[key] = value.get<std::string>();
    else
      props[key] = value.dump();
  }
  return props;
}

Props only(const Props& all, const std::vector<std::string>& keys) {
  Props out;
  for (const auto& k : keys)
    if (all.count(k)) out[k] = all.at(k);
  return out;
}

// The words of a shell command line as virsh prints it: single-quoted words (libvirt's JSON,
// which holds no single quote) and plain ones.
std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, quoted = false;
  for (char c : line) {
    if (quoted) {
      if (c == '\'')
        quoted = false;
      else
        word += c;
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == ' ' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// What the desktop keys (tpm, secure boot, shares, agent, usb, audio, cdrom, boot) put in a qemu
// argv, in words both mdevrun's argv and libvirt's share: ids, buses and paths differ, so only
// the drivers and the properties the profile decides. Sorted: the order differs too.
std::vector<std::string> desktop_parts(const std::vector<std::string>& argv) {
  static const std::map<std::string, std::vector<std::string>> devices = {
      {"tpm-crb", {}},
      {"tpm-tis", {}},
      {"vhost-user-fs-pci", {"tag"}},
      {"qemu-xhci", {}},
      {"usb-redir", {}},
      {"usb-host", {"vendorid", "productid", "hostbus", "hostport"}},
      {"virtserialport", {"name"}},
      {"ich9-intel-hda", {}},
      {"hda-duplex", {}},
      {"ide-cd", {"bootindex"}},
      {"ide-hd", {"bootindex"}},
      {"virtio-blk-pci", {"bootindex"}},
      {"nvme", {"bootindex"}}};
  const auto parse = [](const std::string& value) {
    return value.starts_with("{") ? from_libvirt_json(json::parse(value))
                                  : from_mdevrun_option(value);
  };
  std::vector<std::string> parts;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    const std::string& option = argv[i];
    const std::string& value = argv[i + 1];
    if (option == "-device") {
      Props props = parse(value);
      const auto known = devices.find(props["driver"]);
      if (known == devices.end()) continue;
      std::string part = "device " + known->first;
      for (const auto& key : known->second)
        if (props.count(key)) part += " " + key + "=" + props[key];
      parts.push_back(part);
    } else if (option == "-chardev") {
      Props props = parse(value);
      if (props["driver"] != "spicevmc" && props["driver"] != "qemu-vdagent") continue;
      std::string part = "chardev " + props["driver"] + " name=" + props["name"];
      if (props.count("clipboard")) part += " clipboard=" + props["clipboard"];
      parts.push_back(part);
    } else if (option == "-audiodev") {
      parts.push_back("audiodev " + parse(value)["driver"]);
    } else if (option == "-tpmdev") {
      parts.push_back("tpmdev " + parse(value)["driver"]);
    } else if (option == "-machine" && value.find(",smm=on") != std::string::npos) {
      parts.push_back("machine smm=on");
    } else if (option == "-global" && value.starts_with("driver=cfi.pflash01")) {
      parts.push_back("global " + value);
    }
  }
  std::sort(parts.begin(), parts.end());
  return parts;
}

class LibvirtExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() == 0 && ::access("/usr/sbin/libvirtd", X_OK) == 0)
      daemons_ = new LibvirtDaemons();
  }
  static void TearDownTestSuite() {
    delete daemons_;
    daemons_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(daemons_, nullptr)
        << "needs root and libvirt (libvirt-daemon-driver-qemu, libvirt-clients): run scripts/deps";
  }

  static fs::path profile(const std::string& name) {
    return fs::path(MDEVRUN_SOURCE_DIR) / "tests" / "libvirt" / "profiles" / name;
  }

  // mdevrun's export for `file`, written into the daemons' folder. With `rendernode`, GL gets
  // that node: a profile's gtk GL has none, and libvirt without one looks for a real GPU.
  // `env` prefixes the command ("env MDEVRUN_SYSFS_ROOT=... ").
  fs::path exported(const fs::path& file, bool rendernode = false, const std::string& env = "") {
    auto xml = run_shell(env + MDEVRUN_BIN + " export " + file.string() + " --libvirt");
    EXPECT_EQ(xml.exit_code, 0);
    const std::string gl = "<gl enable='yes'/>";
    if (const auto at = xml.out.find(gl); rendernode && at != std::string::npos)
      xml.out.replace(at, gl.size(), "<gl enable='yes' rendernode='/dev/dri/renderD128'/>");
    const fs::path out = daemons_->dir() / (file.stem().string() + ".xml");
    std::ofstream(out) << xml.out;
    return out;
  }

  // The vfio devices' -device options in mdevrun's own argv (`start --dry-run --json`).
  std::vector<Props> mdevrun_vfio_all(const fs::path& file, const std::string& env = "") {
    const auto argv =
        run_shell(env + MDEVRUN_BIN + " start --dry-run --json " + file.string() + " 2>/dev/null");
    EXPECT_EQ(argv.exit_code, 0);
    std::vector<Props> out;
    for (const auto& arg : json::parse(argv.out))
      if (arg.get<std::string>().rfind("vfio-pci", 0) == 0)
        out.push_back(from_mdevrun_option(arg.get<std::string>()));
    if (out.empty()) ADD_FAILURE() << "no vfio-pci device in " << argv.out;
    return out;
  }
  Props mdevrun_vfio(const fs::path& file) {
    auto all = mdevrun_vfio_all(file);
    return all.empty() ? Props{} : all.front();
  }

  // libvirt's qemu argv for the XML, as virsh prints it (one shell command line).
  std::string libvirt_argv(const fs::path& xml) {
    const auto argv = run_shell("env LIBVIRT_AUTOSTART=0 virsh -q -c '" + daemons_->uri() +
                                "' domxml-to-native qemu-argv " + xml.string());
    EXPECT_EQ(argv.exit_code, 0) << argv.out;
    return argv.out;
  }

  // The vfio devices in libvirt's qemu argv for the XML.
  std::vector<Props> libvirt_vfio_all(const fs::path& xml) {
    const auto argv = libvirt_argv(xml);
    // -device '{"driver":"vfio-pci",...}' (JSON in single quotes; it holds no single quote)
    static const std::regex device(R"(-device '(\{"driver":"vfio-pci[^']*\})')");
    std::vector<Props> out;
    for (auto it = std::sregex_iterator(argv.begin(), argv.end(), device);
         it != std::sregex_iterator(); ++it)
      out.push_back(from_libvirt_json(json::parse((*it)[1].str())));
    if (out.empty()) ADD_FAILURE() << "no vfio-pci device in libvirt's argv: " << argv;
    return out;
  }
  Props libvirt_vfio(const fs::path& xml) {
    auto all = libvirt_vfio_all(xml);
    return all.empty() ? Props{} : all.front();
  }

  void expect_same_vfio_device(const std::string& name) {
    SCOPED_TRACE(name);
    const fs::path file = profile(name);
    const fs::path xml = exported(file, true);
    const auto valid = run_shell("virt-xml-validate " + xml.string() + " domain");
    EXPECT_EQ(valid.exit_code, 0) << valid.out;
    const std::vector<std::string> keys = {"driver", "sysfsdev", "display", "ramfb", "rombar"};
    const Props ours = only(mdevrun_vfio(file), keys);
    EXPECT_EQ(only(libvirt_vfio(xml), keys), ours);
    EXPECT_EQ(ours.at("sysfsdev"), "/sys/bus/mdev/devices/4dd50f26-ec08-11e8-b838-4bc3356865b6");
  }

  // The desktop keys' parts of mdevrun's argv and of libvirt's for the profile `name`, whose
  // export virt-xml-validate must accept.
  struct DesktopParts {
    std::vector<std::string> mdevrun, libvirt;
  };
  DesktopParts desktop_parts_of(const std::string& name) {
    const fs::path file = profile(name);
    const fs::path xml = exported(file);
    const auto valid = run_shell("virt-xml-validate " + xml.string() + " domain");
    EXPECT_EQ(valid.exit_code, 0) << valid.out;
    // libvirt 9.0 starts virtiofsd only as root: this session libvirtd refuses <source dir> on
    // virtiofs ("not yet supported in session mode") but takes the socket of a virtiofsd started
    // by someone else, for the same vhost-user-fs-pci device.
    std::ifstream in(xml);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const fs::path native = daemons_->dir() / (file.stem().string() + "-socket.xml");
    std::ofstream(native) << std::regex_replace(
        text, std::regex("<source dir='[^']*'/>"),
        "<source socket='" + (daemons_->dir() / "virtiofsd.sock").string() + "'/>");
    const auto ours = run_shell(MDEVRUN_BIN + std::string(" start --dry-run --json ") +
                                file.string() + " 2>/dev/null");
    EXPECT_EQ(ours.exit_code, 0);
    return {desktop_parts(json::parse(ours.out).get<std::vector<std::string>>()),
            desktop_parts(shell_words(libvirt_argv(native)))};
  }

  static LibvirtDaemons* daemons_;
};

LibvirtDaemons* LibvirtExportTest::daemons_ = nullptr;

TEST_F(LibvirtExportTest, SeedProfileGtkGlBecomesSpiceGl) {
  expect_same_vfio_device("gvtg-gtk-gl.json");
}

TEST_F(LibvirtExportTest, RamfbUsesTheNoHotplugDevice) {
  expect_same_vfio_device("gvtg-ramfb.json");
}

TEST_F(LibvirtExportTest, EglHeadless) {
  expect_same_vfio_device("gvtg-egl-headless.json");
}

// VF and whole-device slices: <hostdev type='pci'> for the functions a dry run resolves on a plain
// sysfs-shaped tree (an SR-IOV NVMe with one VF enabled, an e1000e, as in the e2e's outer VM),
// which libvirt's schema accepts and libvirt turns into the same vfio-pci devices (host, rombar)
// mdevrun's own argv has.
TEST_F(LibvirtExportTest, VfAndPciSlicesBecomePciHostdevs) {
  mdevrun::testing::TempDir tmp;
  mdevrun::testing::PciTree tree(tmp.path() / "sys");
  tree.driver("vfio-pci");
  tree.add({.address = "0000:00:04.0",
            .vendor = "0x1b36",
            .device = "0x0010",
            .class_code = "0x010802",
            .driver = "nvme",
            .iommu_group = 4});
  tree.sriov("0000:00:04.0", 2, {"0000:00:04.1"}, false, 1, 1, std::nullopt, 6);
  tree.add({.address = "0000:00:05.0",
            .vendor = "0x8086",
            .device = "0x10d3",
            .driver = "e1000e",
            .iommu_group = 5});
  const std::string env = "env MDEVRUN_SYSFS_ROOT=" + tree.sys().string() + " ";
  const fs::path file = profile("pci-and-vf.json");
  const fs::path xml = exported(file, false, env);
  const auto valid = run_shell("virt-xml-validate " + xml.string() + " domain");
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  std::map<std::string, Props> ours, theirs;
  for (auto& p : mdevrun_vfio_all(file, env))
    ours["ua-" + p["id"]] = only(p, {"driver", "host", "rombar"});
  for (auto& p : libvirt_vfio_all(xml)) theirs[p["id"]] = only(p, {"driver", "host", "rombar"});
  EXPECT_EQ(theirs, ours);
  ASSERT_EQ(ours.count("ua-vf0"), 1u);
  ASSERT_EQ(ours.count("ua-nic0"), 1u);
  EXPECT_EQ(ours.at("ua-vf0"),
            (Props{{"driver", "vfio-pci"}, {"host", "0000:00:04.1"}, {"rombar", "0"}}));
  EXPECT_EQ(ours.at("ua-nic0"), (Props{{"driver", "vfio-pci"}, {"host", "0000:00:05.0"}}));
}

// The desktop keys on SPICE (q35): libvirt's qemu gets the same TPM, secure flash with SMM,
// virtio-fs device, vdagent channel, xHCI with two usb-redir and the by-port usb-host, audio and
// boot order as mdevrun's, except the read-only share, which the export leaves out (libvirt 9.0
// refuses read-only virtiofs).
TEST_F(LibvirtExportTest, DesktopKeysOnSpice) {
  auto [ours, theirs] = desktop_parts_of("desktop-spice.json");
  const auto ro = std::find(ours.begin(), ours.end(), "device vhost-user-fs-pci tag=ref");
  ASSERT_NE(ro, ours.end()) << ::testing::PrintToString(ours);
  ours.erase(ro);
  EXPECT_EQ(theirs, ours);
  EXPECT_THAT(theirs,
              ::testing::IsSupersetOf(
                  {"machine smm=on", "global driver=cfi.pflash01,property=secure,value=on",
                   "tpmdev emulator", "device tpm-crb", "device vhost-user-fs-pci tag=work",
                   "chardev spicevmc name=vdagent", "device virtserialport name=com.redhat.spice.0",
                   "device qemu-xhci", "chardev spicevmc name=usbredir", "device usb-redir",
                   "device usb-host hostbus=1 hostport=1.2", "audiodev spice",
                   "device ich9-intel-hda", "device hda-duplex", "device ide-cd bootindex=1",
                   "device virtio-blk-pci bootindex=2", "device nvme bootindex=3"}));
  EXPECT_EQ(std::count(theirs.begin(), theirs.end(), "device usb-redir"), 2);
}

// Off SPICE (vnc, pc): qemu's own vdagent with the clipboard, a TIS TPM, wav audio, and the
// CD-ROM after both disks, all as in mdevrun's argv.
TEST_F(LibvirtExportTest, DesktopKeysOffSpice) {
  const auto [ours, theirs] = desktop_parts_of("desktop-vnc.json");
  EXPECT_EQ(theirs, ours);
  EXPECT_THAT(theirs, ::testing::IsSupersetOf(
                          {"chardev qemu-vdagent name=vdagent clipboard=on", "device tpm-tis",
                           "audiodev wav", "device ide-hd bootindex=1",
                           "device virtio-blk-pci bootindex=2", "device ide-cd bootindex=3"}));
}

// A USB device by vendor:product: libvirt looks it up on the host even in domxml-to-native
// ("USB host device is missing bus/device information" without it), so only the schema checks it.
TEST_F(LibvirtExportTest, UsbDeviceByIdValidates) {
  const fs::path xml = exported(profile("usb-by-id.json"));
  const auto valid = run_shell("virt-xml-validate " + xml.string() + " domain");
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  std::ifstream in(xml);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, ::testing::HasSubstr("<vendor id='0x046d'/>"));
}

// Every example profile and the every-option CLI profile give XML that libvirt's schema accepts.
TEST_F(LibvirtExportTest, ExampleProfilesValidate) {
  const fs::path src = MDEVRUN_SOURCE_DIR;
  std::vector<fs::path> files = {src / "tests/cli/profiles/every-option.json"};
  for (const fs::path& dir : {src / "profiles", src / "profiles/dev"})
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".json" && entry.path().filename() != "profile.schema.json")
        files.push_back(entry.path());
  for (const char* desktop :
       {"profiles/win11-vgpu-desktop.json", "profiles/dev/shared-folder.json"})
    ASSERT_NE(std::find(files.begin(), files.end(), src / desktop), files.end()) << desktop;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const auto valid = run_shell("virt-xml-validate " + exported(file).string() + " domain");
    EXPECT_EQ(valid.exit_code, 0) << valid.out;
  }
}

}  // namespace

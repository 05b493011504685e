#include "fake_sysfs_fixture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "os/sysfs_write.hpp"

namespace mdevrun::testing {
namespace fs = std::filesystem;
namespace {

// Waits up to `ms` for child `pid` to exit; true when it was reaped.
bool reap(pid_t pid, int ms) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  bool done = false;
  while (!done) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      done = true;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd p{pidfd, POLLIN, 0};
    if (pidfd >= 0) ::poll(&p, 1, static_cast<int>(left));
  }
  if (pidfd >= 0) ::close(pidfd);
  return done;
}

}  // namespace

bool fuse_available() {
  return ::geteuid() == 0 && ::access("/dev/fuse", R_OK | W_OK) == 0;
}

FakeSysfs::FakeSysfs(const nlohmann::json& config) {
  // Below the build's own folder, so a check after the run can tell this build's leftovers apart.
  fs::create_directories(FAKE_SYSFS_TMPDIR);
  std::string templ = std::string(FAKE_SYSFS_TMPDIR) + "/fake-sysfs.XXXXXX";
  if (!::mkdtemp(templ.data()))
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = templ;
  sys_ = dir_ / "sys";
  dev_ = dir_ / "dev";
  fs::create_directories(sys_);
  fs::create_directories(dev_);
  const fs::path config_file = dir_ / "config.json";
  std::ofstream(config_file) << config.dump(2);

  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const std::string fd_text = std::to_string(ready[1]);
  std::vector<std::string> args = {FAKE_SYSFS_BIN, "--config",    config_file.string(),
                                   "--sys",        sys_.string(), "--dev",
                                   dev_.string(),  "--ready-fd",  fd_text};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the test died: unmount and go
    if (::getppid() != parent) ::_exit(1);
    ::fcntl(ready[1], F_SETFD, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(ready[1]);
  pollfd p{ready[0], POLLIN, 0};
  char buf[16] = {};
  const bool up = pid_ > 0 && ::poll(&p, 1, 10000) == 1 && ::read(ready[0], buf, sizeof buf) > 0;
  ::close(ready[0]);
  if (!up) {
    stop();
    throw std::runtime_error("fake-sysfs did not mount " + sys_.string() + " within 10 s");
  }
}

FakeSysfs::~FakeSysfs() {
  stop();
}

void FakeSysfs::stop() noexcept {
  if (pid_ > 0) {
    ::umount2(sys_.c_str(), MNT_DETACH);
    ::kill(pid_, SIGTERM);  // ends the loop even while a blocked request keeps the mount busy
    if (!reap(pid_, 5000)) {
      ::kill(pid_, SIGKILL);
      reap(pid_, 5000);
    }
    pid_ = -1;
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

int FakeSysfs::try_control(const std::string& command) const {
  return write_sysfs(sys_ / ".control", command + "\n");
}

void FakeSysfs::control(const std::string& command) const {
  if (const int error = try_control(command))
    throw std::runtime_error("fake-sysfs control \"" + command + "\": " + std::strerror(error));
}

nlohmann::json FakeSysfs::status() const {
  return nlohmann::json::parse(read_sysfs(sys_ / ".control").value_or("{}"));
}

nlohmann::json kernel_like_config() {
  return nlohmann::json::parse(R"({
    "iommu_group_base": 20,
    "parents": [
      {"name": "0000:00:02.0", "pools": {"gm": 8},
       "types": [
         {"type": "i915-GVTg_V4_1", "name": "GVTg_V4_1", "pool": "gm", "cost": 8,
          "description": "low_gm_size: 512MB\nhigh_gm_size: 2048MB\nfence: 4\nresolution: 1920x1200\nweight: 16"},
         {"type": "i915-GVTg_V4_2", "name": "GVTg_V4_2", "pool": "gm", "cost": 4,
          "description": "low_gm_size: 256MB\nhigh_gm_size: 1024MB\nfence: 4\nresolution: 1920x1200\nweight: 8"},
         {"type": "i915-GVTg_V4_4", "name": "GVTg_V4_4", "pool": "gm", "cost": 2,
          "description": "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4"},
         {"type": "i915-GVTg_V4_8", "name": "GVTg_V4_8", "pool": "gm", "cost": 1,
          "description": "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 2"}
       ]},
      {"name": "mbochs", "pools": {"mem": 256},
       "types": [
         {"type": "mbochs-1", "name": "mbochs-small", "pool": "mem", "cost": 4,
          "description": "virtual display, 4 MB video memory"},
         {"type": "mbochs-2", "name": "mbochs-medium", "pool": "mem", "cost": 16,
          "description": "virtual display, 16 MB video memory"},
         {"type": "mbochs-3", "name": "mbochs-large", "pool": "mem", "cost": 64,
          "description": "virtual display, 64 MB video memory"}
       ]},
      {"name": "mdpy", "pools": {"instances": 4},
       "types": [
         {"type": "mdpy-hd", "name": "hd", "pool": "instances", "full_errno": "EUSERS",
          "description": "virtual display, 1920x1080"},
         {"type": "mdpy-vga", "name": "vga", "pool": "instances", "full_errno": "EUSERS",
          "description": "virtual display, 640x480"},
         {"type": "mdpy-xga", "name": "xga", "pool": "instances", "full_errno": "EUSERS",
          "description": "virtual display, 1024x768"}
       ]},
      {"name": "mtty", "pools": {"ports": 24},
       "types": [
         {"type": "mtty-1", "name": "Single port serial", "pool": "ports", "cost": 1,
          "full_errno": "EUSERS"},
         {"type": "mtty-2", "name": "Dual-port serial", "pool": "ports", "cost": 2,
          "full_errno": "EUSERS"}
       ]}
    ]
  })");
}

nlohmann::json pci_like_config() {
  return nlohmann::json::parse(R"({
    "pci": {
      "iommu_group_base": 40,
      "drivers": ["nvme", "e1000e", "vfio-pci", "xe", "nvidia", "pcieport"],
      "devices": [
        {"address": "0000:03:00.0", "vendor": "0x1b36", "device": "0x0010", "class": "0x010802",
         "driver": "nvme", "iommu_group": 7,
         "sriov": {"totalvfs": 2, "offset": 1, "stride": 1, "vf_device": "0x0010",
                   "vf_driver": "nvme", "numvfs": 0, "autoprobe": 1}},
        {"address": "0000:00:19.0", "vendor": "0x8086", "device": "0x10d3", "class": "0x020000",
         "driver": "e1000e"},
        {"address": "0000:00:1c.0", "vendor": "0x8086", "device": "0x2448", "class": "0x060400",
         "driver": "pcieport", "iommu_group": 9},
        {"address": "0000:00:1c.1", "vendor": "0x8086", "device": "0x10d3", "class": "0x020000",
         "driver": "e1000e", "iommu_group": 9},
        {"address": "0000:41:00.0", "vendor": "0x10de", "device": "0x26b9", "class": "0x030000",
         "driver": "nvidia",
         "sriov": {"totalvfs": 4, "offset": 4, "stride": 1, "vf_device": "0x26b9",
                   "vf_driver": "nvidia", "numvfs": 0, "autoprobe": 1},
         "nvidia_vgpu_types": [{"id": 1148, "name": "NVIDIA L40S-2Q", "max": 2},
                               {"id": 1150, "name": "NVIDIA L40S-4Q", "max": 1},
                               {"id": 1155, "name": "NVIDIA L40S-48Q", "max": 0}]},
        {"address": "0000:00:02.0", "vendor": "0x8086", "device": "0xa7a0", "class": "0x030000",
         "driver": "xe",
         "sriov": {"totalvfs": 7, "offset": 1, "stride": 1, "vf_device": "0xa7a0",
                   "vf_driver": "xe", "numvfs": 0, "autoprobe": 1}}
      ]
    }
  })");
}

nlohmann::json combined_config() {
  nlohmann::json config = kernel_like_config();
  config["pci"] = pci_like_config()["pci"];
  auto& devices = config["pci"]["devices"];
  for (auto it = devices.begin(); it != devices.end(); ++it)
    if ((*it)["address"] == "0000:00:02.0") {
      devices.erase(it);
      break;
    }
  // The GVT-g parent is a PCI device too: its attributes join the parent's directory.
  devices.push_back({{"address", "0000:00:02.0"},
                     {"vendor", "0x8086"},
                     {"device", "0x3e92"},
                     {"class", "0x030000"},
                     {"driver", "i915"}});
  config["pci"]["drivers"].push_back("i915");
  return config;
}

}  // namespace mdevrun::testing

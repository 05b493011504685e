#pragma once
// A fake sysfs mounted for the lifetime of one object: starts the fake-sysfs FUSE daemon on a fresh
// temp folder, waits (bounded) until the mount is live, and on destruction unmounts it, stops the
// daemon and deletes the folder, so no test leaves a mount, device node or process behind, even
// when it fails. Needs root and /dev/fuse.

#include <sys/types.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "os/host.hpp"

namespace mdevrun::testing {

class FakeSysfs {
 public:
  /// Mounts a fake sysfs described by `config` (see README.md). Throws std::runtime_error when the
  /// daemon does not come up within 10 s.
  explicit FakeSysfs(const nlohmann::json& config);
  ~FakeSysfs();
  FakeSysfs(const FakeSysfs&) = delete;
  FakeSysfs& operator=(const FakeSysfs&) = delete;

  const std::filesystem::path& dir() const { return dir_; }  ///< temp folder holding sys/, dev/
  const std::filesystem::path& sys() const { return sys_; }  ///< the mount: stands for /sys
  const std::filesystem::path& dev() const { return dev_; }  ///< stands for /dev
  Host host() const { return {.sys = sys_, .dev = dev_}; }

  /// Sends one control command; returns 0 or the errno the daemon answered with.
  int try_control(const std::string& command) const;
  /// Sends one control command; throws std::runtime_error when the daemon refuses it.
  void control(const std::string& command) const;
  /// The daemon's status: {"creates", "removes", "pending_removes", "devices": [...], "pci": [...],
  /// "pci_writes"}.
  nlohmann::json status() const;

 private:
  void stop() noexcept;  ///< unmount, stop the daemon (bounded), delete the folder
  std::filesystem::path dir_, sys_, dev_;
  pid_t pid_ = -1;
};

/// A host like a laptop with GVT-g plus the kernel's sample drivers: parents 0000:00:02.0 (i915
/// GVT-g, 4 types sharing one graphics-memory pool, ENOSPC), mbochs (3 types sharing a 256 MB
/// pool, ENOSPC), mdpy (3 types, 4 instances for the whole parent, EUSERS) and mtty (2 types
/// sharing 24 ports, EUSERS, no description).
nlohmann::json kernel_like_config();

/// A host with PCI devices and no mdev parents (README.md, "PCI"): an NVMe SR-IOV PF 0000:03:00.0
/// (group 7, 2 VFs, nvme), an e1000e NIC alone in its group (0000:00:19.0), a pcieport bridge and
/// a second NIC sharing group 9 (0000:00:1c.0/.1), an NVIDIA L40S PF 0000:41:00.0 (4 VFs on
/// nvidia, vGPU types 1148 max 2, 1150 max 1, 1155 max 0) and an Intel xe PF 0000:00:02.0 (7 VFs
/// on xe). Drivers nvme, e1000e, vfio-pci, xe, nvidia, pcieport; PCI groups from 40.
nlohmann::json pci_like_config();

/// kernel_like_config() plus pci_like_config()'s PCI section without the xe PF; instead the mdev
/// parent 0000:00:02.0 is also an i915 PCI device (driver i915, group from 40).
nlohmann::json combined_config();

/// True when fake-sysfs tests can run here (root and /dev/fuse).
bool fuse_available();

}  // namespace mdevrun::testing

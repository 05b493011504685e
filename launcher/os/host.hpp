#pragma once
// Where mdevrun finds the host: the kernel's sysfs, device nodes, /proc, the runtime directory
// for instance folders and locks, the folders that hold profiles by name, and the state directory
// for what a profile keeps between runs (TPM state, secure-boot UEFI vars). Read from the
// environment once, at the CLI edge (Host::from_env), and passed down by reference, so no layer
// reads MDEVRUN_* itself and tests point a whole command at a fake tree by building one value.
//
// Plain value; copy freely. Paths are used as given (not canonicalized).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mdevrun {

struct Host {
  std::filesystem::path sys = "/sys";  ///< stands for /sys (class/mdev_bus, bus/mdev/devices, ...)
  std::filesystem::path dev = "/dev";  ///< stands for /dev (vfio/N nodes, kvm, dri)
  std::filesystem::path proc = "/proc";  ///< stands for /proc (cmdline of pids, fds, cpuinfo)
  /// Parent of the instance folders and locks; none when nothing applies (a non-root user
  /// without XDG_RUNTIME_DIR): only commands that need it fail, through runtime_parent().
  std::optional<std::filesystem::path> runtime{};
  /// Where `mdevrun start NAME` looks for NAME.json, in order (os/named_profile.hpp): the user's
  /// folder (when a home or XDG_CONFIG_HOME is known), then the system's.
  std::vector<std::filesystem::path> config_dirs{"/etc/mdevrun"};
  /// $NOTIFY_SOCKET: the service manager's socket for readiness (os/sd_notify.hpp); empty when
  /// not started by systemd as a Type=notify service.
  std::string notify_socket{};
  /// Parent of the per-profile state folders (<state>/<name>/tpm, ...), kept between runs; none
  /// when nothing applies (a non-root user without HOME): only profiles that keep state fail.
  std::optional<std::filesystem::path> state{};

  /// /sys, /dev and /proc, each replaced by $MDEVRUN_SYSFS_ROOT, $MDEVRUN_DEV_ROOT,
  /// $MDEVRUN_PROC_ROOT when set and non-empty; runtime: $MDEVRUN_RUNTIME_DIR if set and
  /// non-empty, for root /run/mdevrun, otherwise $XDG_RUNTIME_DIR/mdevrun; config_dirs:
  /// $XDG_CONFIG_HOME/mdevrun (else $HOME/.config/mdevrun, else none), then
  /// $MDEVRUN_SYSTEM_CONFIG_DIR (else /etc/mdevrun); notify_socket: $NOTIFY_SOCKET; state:
  /// $MDEVRUN_STATE_DIR if set and non-empty, for root /var/lib/mdevrun, otherwise
  /// $XDG_STATE_HOME/mdevrun, else $HOME/.local/state/mdevrun. Never throws.
  static Host from_env();

  /// The runtime parent. Throws Error(failure) naming the variables to set when there is none.
  const std::filesystem::path& runtime_parent() const;

  /// <state>/<name>: what profile `name` keeps between runs. Throws Error(failure) naming the
  /// variables to set when there is no state directory.
  std::filesystem::path profile_state(const std::string& name) const;

  /// <dev>/vfio/<group>: the node qemu opens for a device in that IOMMU group.
  std::filesystem::path vfio_node(int iommu_group) const;
};

}  // namespace mdevrun

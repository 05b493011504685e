#pragma once
// The host preflight of `mdevrun check`, in the spirit of virt-host-validate: is this host (and
// this user) able to run the profile's VM? Every check reads through an injectable HostView (sysfs,
// /dev and /proc roots, environment, memlock limit, effective uid, access(2), a qemu runner), so
// tests build fake hosts that each miss one piece. Nothing here writes to the host.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "check/check_report.hpp"
#include "os/host.hpp"
#include "os/program_output.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// Runs the qemu binary with extra arguments (argv[0] is the binary); none when it cannot run.
using QemuRunner = std::function<std::optional<ProgramOutput>(const std::vector<std::string>&)>;

/// Everything the checks read about the host.
struct HostView {
  Host paths;  ///< /sys, /dev and /proc (cpuinfo, cmdline)
  /// Environment lookup (DISPLAY, WAYLAND_DISPLAY, USER); none when unset or empty.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::optional<std::uint64_t> memlock_bytes;  ///< soft RLIMIT_MEMLOCK; none: unlimited
  bool root = false;                           ///< effective uid 0 (has CAP_IPC_LOCK)
  /// access(2) with the effective ids: may this user open `path` with `mode` (R_OK, W_OK, ...)?
  std::function<bool(const std::filesystem::path&, int)> can_access;
  QemuRunner run_qemu;

  /// The real host below `paths`: the process environment, getrlimit, geteuid,
  /// faccessat(AT_EACCESS), and run_program with a 10 s deadline.
  static HostView of(const Host& paths);
};

/// Every check, in a fixed order: the profile's files (check_profile_files), CPU virtualization,
/// /dev/kvm, IOMMU, kernel command line, interrupt remapping (with PCI slices), vfio and mdev
/// modules, vendor drivers (GVT-g on a new iGPU, i915 GVT-g, NVIDIA vGPU) for the profile's types,
/// mdev parents, the profile's mdevs (type, free instance, or existing device), the PCI slices
/// (vfio-pci, NVIDIA VFs, per slice its PF, a dry run of ensure_slices and its IOMMU group),
/// /dev/vfio nodes, RLIMIT_MEMLOCK, qemu (version, vfio-pci properties, display backend) and GL.
/// Without a profile only what does not depend on one. `profile` mdevs without a uuid get the
/// derived one.
std::vector<CheckResult> run_host_checks(const HostView& host, const Profile* profile);

/// Major, minor and micro from `qemu --version` output ("QEMU emulator version 7.2.22 (...)").
std::optional<std::vector<int>> parse_qemu_version(const std::string& output);

}  // namespace mdevrun

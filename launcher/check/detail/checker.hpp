#pragma once
// Internal to check/: what the host checks of one run share. run_host_checks (host_checks.cpp)
// builds one Checker and calls the families below in its fixed order; each check reads the host
// and the profile through the Checker, appends its results, and may leave a fact that a later check
// of the same run reads (iommu_on, existing, missing). Single-threaded, lives for one run; nothing
// here writes to the host. Not for use outside check/.
//
// Fix texts work on any systemd distribution (modules-load.d, udev, limits.d); where a step or a
// package differs per distribution, one short phrase names it for Debian/Ubuntu, Fedora and Arch.

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "check/check_report.hpp"
#include "check/host_checks.hpp"
#include "devices/mdev_discovery.hpp"
#include "profile/profile.hpp"

namespace mdevrun::detail {

struct Checker {
  /// Reads /proc/cpuinfo below host.paths.proc and notes the profile's vendor mdev types.
  Checker(const HostView& host, const Profile* profile);

  const HostView& host;
  const Profile* profile;             ///< none: `mdevrun check` without a profile
  std::set<std::string> cpu_flags;    ///< /proc/cpuinfo "flags"
  std::string cpu_vendor;             ///< /proc/cpuinfo "vendor_id"
  bool i915 = false, nvidia = false;  ///< the profile has an i915-* / nvidia-* mdev type
  bool gvtg = false;                  ///< the profile has an i915-GVTg* mdev type
  bool iommu_on = false;              ///< found by check_iommu, for check_kernel_cmdline
  /// Found by check_profile_mdevs, for check_vfio_nodes: (spec id, device) of the mdevs that
  /// exist, and the spec ids of those start would create.
  std::vector<std::pair<std::string, MdevDevice>> existing;
  std::vector<std::string> missing;
  std::vector<CheckResult> results;

  void add(CheckResult r) { results.push_back(std::move(r)); }

  bool intel() const;
  bool needs_kvm() const;
  bool needs_mdev() const;
  bool needs_vfio() const;
  /// The profile has PCI slices (vf, nvidia-vgpu, pci).
  bool has_slices() const;
  /// The profile gives qemu a real PCI function (a slice, or a vfio-pci "devices" entry with
  /// host=): interrupt remapping matters.
  bool passes_pci_through() const;
  /// A missing IOMMU fails (not warns): no profile, vendor vGPU mdevs, or slices.
  bool iommu_needed() const;
  bool module_loaded(const std::string& name) const;
  /// Problems that only matter with KVM are warnings for a tcg profile.
  Verdict kvm_verdict() const;
  std::string kvm_why(std::string why) const;
};

CheckResult pass(std::string id, std::string title, std::string detail);
/// `detail` names what was found when that helps a script reading the JSON (a version, a node).
CheckResult bad(Verdict v, std::string id, std::string title, std::string why, std::string fix,
                std::string detail = {});

/// The whole file; none when it cannot be read.
std::optional<std::string> read_text(const std::filesystem::path& path);
/// Whitespace-separated words.
std::vector<std::string> words(const std::string& text);
/// "sudo modprobe M; to load it at boot: ..." (modules-load.d).
std::string persist_module(const std::string& module);

// The families, one file each, in the order run_host_checks calls them.

// cpu_checks.cpp: hardware virtualization, /dev/kvm, the IOMMU and the kernel command line.
void check_cpu_virtualization(Checker& c);
void check_kvm_node(Checker& c);
void check_iommu(Checker& c);
void check_kernel_cmdline(Checker& c);
/// The IOMMU fix for this CPU's vendor (intel_iommu=on, or AMD-Vi in the firmware).
std::string iommu_fix(const Checker& c);

// module_checks.cpp: vfio and mdev modules, then the vendor drivers the profile's types need.
void check_modules(Checker& c);
void check_i915_gvt(Checker& c);
void check_nvidia_vgpu(Checker& c);

// mdev_checks.cpp: mdev parents, the profile's mdevs, /dev/vfio nodes.
void check_mdev_parents(Checker& c);
void check_profile_mdevs(Checker& c);
void check_vfio_nodes(Checker& c);

// slice_checks.cpp: what PCI slices need: interrupt remapping, the vfio-pci driver, an Intel
// iGPU without GVT-g behind a GVT-g profile, NVIDIA VFs, and per slice its PF, the function start
// would use (a dry run of ensure_slices) and its IOMMU group.
void check_interrupt_remapping(Checker& c);
void check_gvtg_igpu(Checker& c);
void check_vfio_pci_driver(Checker& c);
void check_nvidia_vfs(Checker& c);
void check_slices(Checker& c);

// limit_checks.cpp: RLIMIT_MEMLOCK.
void check_memlock(Checker& c);

// qemu_checks.cpp: the qemu binary (version, vfio-pci properties, ramfb, display backend) and GL.
void check_qemu(Checker& c);
void check_gl(Checker& c);

}  // namespace mdevrun::detail

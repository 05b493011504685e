#include "check/detail/checker.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace mdevrun::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kCmdline =
    "the kernel command line (GRUB: GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then "
    "update-grub or grub2-mkconfig -o /boot/grub2/grub.cfg; systemd-boot: /etc/kernel/cmdline)";

}  // namespace

std::string iommu_fix(const Checker& c) {
  // amd_iommu= has no "on" (kernel-parameters.txt: fullflush, off, force_isolation, ...): the
  // kernel enables AMD-Vi by itself when the firmware exposes it.
  if (!c.intel())
    return "enable AMD-Vi (often the \"SVM\" and \"IOMMU\" options) in the firmware setup, "
           "then reboot; no kernel parameter is needed on AMD (iommu=pt is optional tuning)";
  return std::string("add intel_iommu=on to ") + kCmdline +
         ", then reboot (enable VT-d in the firmware setup too)";
}

void check_cpu_virtualization(Checker& c) {
  const char* id = "cpu-virtualization";
  const char* title = "hardware virtualization";
  if (c.cpu_flags.count("vmx")) return c.add(pass(id, title, "Intel VT-x"));
  if (c.cpu_flags.count("svm")) return c.add(pass(id, title, "AMD-V"));
  c.add(bad(c.kvm_verdict(), id, title, c.kvm_why("no vmx or svm flag in /proc/cpuinfo"),
            "enable Intel VT-x / AMD-V (SVM) in the firmware (BIOS/UEFI) setup"));
}

void check_kvm_node(Checker& c) {
  const fs::path node = c.host.paths.dev / "kvm";
  std::error_code ec;
  if (!fs::exists(node, ec)) {
    const std::string module =
        c.cpu_flags.count("svm") ? "kvm_amd" : (c.cpu_flags.count("vmx") ? "kvm_intel" : "");
    c.add(bad(c.kvm_verdict(), "kvm", "/dev/kvm", c.kvm_why("missing"),
              module.empty() ? "enable hardware virtualization first (see above)"
                             : persist_module(module)));
    return;
  }
  if (!c.host.can_access(node, R_OK | W_OK))
    return c.add(bad(c.kvm_verdict(), "kvm", "/dev/kvm",
                     c.kvm_why("this user cannot open it read-write"),
                     "sudo usermod -aG kvm $USER, then log in again"));
  c.add(pass("kvm", "/dev/kvm", "accessible"));
}

void check_iommu(Checker& c) {
  std::size_t groups = 0;
  std::error_code ec;
  for (fs::directory_iterator it(c.host.paths.sys / "kernel" / "iommu_groups", ec), end;
       !ec && it != end; it.increment(ec))
    ++groups;
  c.iommu_on = groups > 0;
  if (c.iommu_on)
    return c.add(pass(
        "iommu", "IOMMU",
        "enabled (" + std::to_string(groups) + " IOMMU group" + (groups == 1 ? "" : "s") + ")"));
  // Vendor vGPU drivers need it (the seed's set-up), and every PCI slice (vfio-pci on a real
  // device); the kernel's sample mdev drivers do not.
  const bool needed = c.iommu_needed();
  c.add(bad(needed ? Verdict::fail : Verdict::warn, "iommu", "IOMMU",
            "not enabled (no IOMMU groups in /sys/kernel/iommu_groups)", iommu_fix(c)));
}

void check_kernel_cmdline(Checker& c) {
  const char* id = "kernel-cmdline";
  const char* title = "kernel command line";
  const auto text = read_text(c.host.paths.proc / "cmdline");
  if (!text) return c.add(bad(Verdict::warn, id, title, "cannot read /proc/cmdline", {}));
  if (!c.intel()) return c.add(pass(id, title, "no Intel IOMMU option needed on this CPU"));
  const auto w = words(*text);
  if (std::find(w.begin(), w.end(), "intel_iommu=on") != w.end())
    return c.add(pass(id, title, "has intel_iommu=on"));
  c.add(bad(c.iommu_on ? Verdict::warn : (c.iommu_needed() ? Verdict::fail : Verdict::warn), id,
            title, "intel_iommu=on is missing", iommu_fix(c)));
}

}  // namespace mdevrun::detail

#include "check/host_checks.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "check/detail/checker.hpp"
#include "check/profile_files.hpp"

namespace mdevrun {

HostView HostView::of(const Host& paths) {
  HostView h;
  h.paths = paths;
  h.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    h.memlock_bytes = limit.rlim_cur;
  h.root = ::geteuid() == 0;
  h.can_access = effective_access;
  h.run_qemu = [](const std::vector<std::string>& argv) {
    return run_program(argv, std::chrono::seconds(10));
  };
  return h;
}

// The order is the report's: from the CPU up to qemu, so the first FAIL is the one to fix first.
// Later checks read what earlier ones found (check_kernel_cmdline the IOMMU, check_vfio_nodes the
// profile's mdevs).
std::vector<CheckResult> run_host_checks(const HostView& host, const Profile* profile) {
  using namespace detail;
  Checker c(host, profile);
  if (profile)
    for (auto& r : check_profile_files(*profile, host.can_access)) c.add(std::move(r));
  check_cpu_virtualization(c);
  check_kvm_node(c);
  if (c.needs_vfio()) {
    check_iommu(c);
    check_kernel_cmdline(c);
  }
  if (c.passes_pci_through()) check_interrupt_remapping(c);
  check_modules(c);
  if (c.gvtg) check_gvtg_igpu(c);  // before i915-gvt: its fix cannot help a newer iGPU
  if (c.i915) check_i915_gvt(c);
  if (c.nvidia) check_nvidia_vgpu(c);
  check_mdev_parents(c);
  if (profile) check_profile_mdevs(c);
  if (c.has_slices()) {
    check_vfio_pci_driver(c);
    check_nvidia_vfs(c);
    check_slices(c);
  }
  if (c.needs_vfio()) check_vfio_nodes(c);
  check_memlock(c);
  check_qemu(c);
  if (profile) check_gl(c);
  return std::move(c.results);
}

}  // namespace mdevrun

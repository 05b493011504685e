#include "check/detail/checker.hpp"

#include <string>

#include "base/text.hpp"

namespace mdevrun::detail {
namespace fs = std::filesystem;
namespace {

void module_check(Checker& c, const std::string& module, const std::string& why = "not loaded") {
  if (c.module_loaded(module)) return c.add(pass("module:" + module, "module " + module, "loaded"));
  c.add(bad(Verdict::fail, "module:" + module, "module " + module, why, persist_module(module)));
}

std::optional<std::string> read_sysfs_text(const fs::path& path) {
  auto text = read_text(path);
  if (text) text = trim(*text);
  return text;
}

}  // namespace

void check_modules(Checker& c) {
  if (c.needs_vfio())
    for (const std::string module : {"vfio", "vfio_iommu_type1"}) module_check(c, module);
  // Linux 6.1 merged vfio_mdev into mdev; older kernels have both.
  if (c.needs_mdev()) module_check(c, "mdev");
}

void check_i915_gvt(Checker& c) {
  const auto gvt =
      read_sysfs_text(c.host.paths.sys / "module" / "i915" / "parameters" / "enable_gvt");
  const std::string fix =
      "printf 'options i915 enable_gvt=1\\n' | sudo tee /etc/modprobe.d/i915.conf, rebuild the "
      "initramfs (Debian/Ubuntu: sudo update-initramfs -u; Fedora: sudo dracut -f; Arch: sudo "
      "mkinitcpio -P) and reboot (or add i915.enable_gvt=1 to the kernel command line)";
  if (!c.module_loaded("i915"))
    c.add(bad(Verdict::fail, "i915-gvt", "i915 GVT-g", "the i915 driver is not loaded", fix));
  else if (!gvt || (*gvt != "Y" && *gvt != "1"))
    c.add(bad(Verdict::fail, "i915-gvt", "i915 GVT-g", "i915.enable_gvt is not 1", fix));
  else
    c.add(pass("i915-gvt", "i915 GVT-g", "enabled (i915.enable_gvt=1)"));
  module_check(c, "kvmgt", "not loaded (GVT-g's mdev driver)");
}

void check_nvidia_vgpu(Checker& c) {
  const char* id = "nvidia-vgpu-driver";
  const char* title = "NVIDIA vGPU host driver";
  if (c.module_loaded("nvidia_vgpu_vfio"))
    c.add(pass(id, title, "loaded (nvidia_vgpu_vfio)"));
  else
    c.add(bad(Verdict::fail, id, title, "nvidia_vgpu_vfio is not loaded",
              "install NVIDIA's vGPU host driver (Virtual GPU Manager for KVM), then sudo "
              "modprobe nvidia_vgpu_vfio"));
  for (const auto& m : c.profile->mdevs) {
    if (!m.type.starts_with("nvidia-")) continue;
    const std::string uuid_id = "vm-uuid:" + m.id, uuid_title = "mdev " + m.id + " -uuid";
    if (m.vm_uuid) {
      c.add(pass(uuid_id, uuid_title, "the mdev's uuid is the VM's"));
      continue;
    }
    c.add(bad(Verdict::fail, uuid_id, uuid_title,
              "the NVIDIA guest driver needs the VM's UUID to be the mdev's",
              "set \"vm-uuid\": true on mdev \"" + m.id + "\" in " + c.profile->file.string()));
  }
}

}  // namespace mdevrun::detail

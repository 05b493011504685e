#include "check/host_checks.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"
#include "check/profile_files.hpp"
#include "devices/mdev_discovery.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

// The fixes work on any systemd distribution (modules-load.d, udev, limits.d); where a step or a
// package differs per distribution, one short phrase names it for Debian/Ubuntu, Fedora and Arch.
constexpr const char* kCmdline =
    "the kernel command line (GRUB: GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then "
    "update-grub or grub2-mkconfig -o /boot/grub2/grub.cfg; systemd-boot: /etc/kernel/cmdline)";
constexpr const char* kQemuPackage = "(Debian/Ubuntu, Fedora, Arch: qemu-system-x86)";
constexpr const char* kUdevRule =
    "echo 'SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\"' | sudo tee "
    "/etc/udev/rules.d/72-mdevrun-vfio.rules && sudo udevadm control --reload && sudo udevadm "
    "trigger --subsystem-match=vfio, and add the user to kvm: sudo usermod -aG kvm $USER (log in "
    "again)";

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string first_line(const std::string& text) {
  return trim(text.substr(0, text.find('\n')));
}

CheckResult pass(std::string id, std::string title, std::string detail) {
  return {Verdict::pass, std::move(id), std::move(title), std::move(detail), {}, {}};
}

// `detail` names what was found when that helps a script reading the JSON (a version, a node).
CheckResult bad(Verdict v, std::string id, std::string title, std::string why, std::string fix,
                std::string detail = {}) {
  return {v, std::move(id), std::move(title), std::move(detail), std::move(why), std::move(fix)};
}

std::string persist_module(const std::string& module) {
  return "sudo modprobe " + module + "; to load it at boot: echo " + module +
         " | sudo tee /etc/modules-load.d/" + module + ".conf";
}

// Debian and Ubuntu ship gtk and sdl in qemu-system-gui and the other UI modules in
// qemu-system-common; Fedora and Arch ship one qemu-ui-* package per module.
std::string ui_module_fix(DisplayBackend backend) {
  const bool gui = backend == DisplayBackend::gtk || backend == DisplayBackend::sdl;
  const std::string name = to_string(backend);
  return "install qemu's " + name +
         " UI module (Debian/Ubuntu: " + (gui ? "qemu-system-gui" : "qemu-system-common") +
         "; Fedora, Arch: qemu-ui-" +
         (backend == DisplayBackend::spice ? std::string("spice-core") : name) + ")";
}

class Checker {
 public:
  Checker(const HostView& host, const Profile* profile) : h_(host), p_(profile) {
    if (const auto cpuinfo = read_text(h_.paths.proc / "cpuinfo")) {
      std::istringstream in(*cpuinfo);
      for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = trim(line.substr(0, colon));
        if (key == "flags")
          for (const auto& f : words(line.substr(colon + 1))) flags_.insert(f);
        if (key == "vendor_id") vendor_ = trim(line.substr(colon + 1));
      }
    }
    if (p_)
      for (const auto& m : p_->mdevs) {
        if (m.type.starts_with("i915-")) i915_ = true;
        if (m.type.starts_with("nvidia-")) nvidia_ = true;
      }
  }

  std::vector<CheckResult> run() {
    if (p_) files();
    cpu();
    kvm_node();
    if (needs_vfio()) {
      iommu();
      cmdline();
    }
    modules();
    if (i915_) i915();
    if (nvidia_) nvidia();
    parents();
    if (p_) profile_mdevs();
    if (needs_vfio()) vfio_nodes();
    memlock();
    qemu();
    if (p_) gl();
    return std::move(out_);
  }

 private:
  bool intel() const { return vendor_ == "GenuineIntel" || flags_.count("vmx"); }
  bool needs_kvm() const { return !p_ || p_->machine.accel == "kvm"; }
  // Without a profile the question is whether this host can run mdev VMs at all, so everything
  // mdev and vfio need is checked. A profile without mdevs needs none of it, unless it passes a
  // host PCI device through with vfio-pci in "devices" (vfio and the IOMMU, but no mdev).
  bool needs_mdev() const { return !p_ || !p_->mdevs.empty(); }
  bool needs_vfio() const {
    return needs_mdev() || std::any_of(p_->devices.begin(), p_->devices.end(),
                                       [](auto& d) { return d.driver.starts_with("vfio-pci"); });
  }
  bool module_loaded(const std::string& name) const {
    std::error_code ec;
    return fs::exists(h_.paths.sys / "module" / name, ec);
  }
  // Problems that only matter with KVM are warnings for a tcg profile.
  Verdict kvm_verdict() const { return needs_kvm() ? Verdict::fail : Verdict::warn; }
  std::string kvm_why(std::string why) const {
    return needs_kvm() ? why
                       : why + " (the profile uses " + p_->machine.accel + ": slow, but runs)";
  }
  void add(CheckResult r) { out_.push_back(std::move(r)); }

  void files() {
    for (auto& r : check_profile_files(*p_, h_.can_access)) add(std::move(r));
  }

  void cpu() {
    const char* id = "cpu-virtualization";
    const char* title = "hardware virtualization";
    if (flags_.count("vmx")) return add(pass(id, title, "Intel VT-x"));
    if (flags_.count("svm")) return add(pass(id, title, "AMD-V"));
    add(bad(kvm_verdict(), id, title, kvm_why("no vmx or svm flag in /proc/cpuinfo"),
            "enable Intel VT-x / AMD-V (SVM) in the firmware (BIOS/UEFI) setup"));
  }

  void kvm_node() {
    const fs::path node = h_.paths.dev / "kvm";
    std::error_code ec;
    if (!fs::exists(node, ec)) {
      const std::string module =
          flags_.count("svm") ? "kvm_amd" : (flags_.count("vmx") ? "kvm_intel" : "");
      add(bad(kvm_verdict(), "kvm", "/dev/kvm", kvm_why("missing"),
              module.empty() ? "enable hardware virtualization first (see above)"
                             : persist_module(module)));
      return;
    }
    if (!h_.can_access(node, R_OK | W_OK))
      return add(bad(kvm_verdict(), "kvm", "/dev/kvm",
                     kvm_why("this user cannot open it read-write"),
                     "sudo usermod -aG kvm $USER, then log in again"));
    add(pass("kvm", "/dev/kvm", "accessible"));
  }

  std::string iommu_fix() const {
    // amd_iommu= has no "on" (kernel-parameters.txt: fullflush, off, force_isolation, ...): the
    // kernel enables AMD-Vi by itself when the firmware exposes it.
    if (!intel())
      return "enable AMD-Vi (often the \"SVM\" and \"IOMMU\" options) in the firmware setup, "
             "then reboot; no kernel parameter is needed on AMD (iommu=pt is optional tuning)";
    return std::string("add intel_iommu=on to ") + kCmdline +
           ", then reboot (enable VT-d in the firmware setup too)";
  }

  void iommu() {
    std::size_t groups = 0;
    std::error_code ec;
    for (fs::directory_iterator it(h_.paths.sys / "kernel" / "iommu_groups", ec), end;
         !ec && it != end; it.increment(ec))
      ++groups;
    iommu_on_ = groups > 0;
    if (iommu_on_)
      return add(pass(
          "iommu", "IOMMU",
          "enabled (" + std::to_string(groups) + " IOMMU group" + (groups == 1 ? "" : "s") + ")"));
    // Vendor vGPU drivers need it (the seed's set-up); the kernel's sample drivers do not.
    const bool needed = !p_ || i915_ || nvidia_;
    add(bad(needed ? Verdict::fail : Verdict::warn, "iommu", "IOMMU",
            "not enabled (no IOMMU groups in /sys/kernel/iommu_groups)", iommu_fix()));
  }

  void cmdline() {
    const char* id = "kernel-cmdline";
    const char* title = "kernel command line";
    const auto text = read_text(h_.paths.proc / "cmdline");
    if (!text) return add(bad(Verdict::warn, id, title, "cannot read /proc/cmdline", {}));
    if (!intel()) return add(pass(id, title, "no Intel IOMMU option needed on this CPU"));
    const auto w = words(*text);
    if (std::find(w.begin(), w.end(), "intel_iommu=on") != w.end())
      return add(pass(id, title, "has intel_iommu=on"));
    add(bad(iommu_on_ ? Verdict::warn : (!p_ || i915_ || nvidia_ ? Verdict::fail : Verdict::warn),
            id, title, "intel_iommu=on is missing", iommu_fix()));
  }

  void modules() {
    if (needs_vfio())
      for (const std::string module : {"vfio", "vfio_iommu_type1"}) module_check(module);
    // Linux 6.1 merged vfio_mdev into mdev; older kernels have both.
    if (needs_mdev()) module_check("mdev");
  }

  void module_check(const std::string& module, const std::string& why = "not loaded") {
    if (module_loaded(module)) return add(pass("module:" + module, "module " + module, "loaded"));
    add(bad(Verdict::fail, "module:" + module, "module " + module, why, persist_module(module)));
  }

  void i915() {
    const auto gvt =
        read_sysfs_text(h_.paths.sys / "module" / "i915" / "parameters" / "enable_gvt");
    const std::string fix =
        "printf 'options i915 enable_gvt=1\\n' | sudo tee /etc/modprobe.d/i915.conf, rebuild the "
        "initramfs (Debian/Ubuntu: sudo update-initramfs -u; Fedora: sudo dracut -f; Arch: sudo "
        "mkinitcpio -P) and reboot (or add i915.enable_gvt=1 to the kernel command line)";
    if (!module_loaded("i915"))
      add(bad(Verdict::fail, "i915-gvt", "i915 GVT-g", "the i915 driver is not loaded", fix));
    else if (!gvt || (*gvt != "Y" && *gvt != "1"))
      add(bad(Verdict::fail, "i915-gvt", "i915 GVT-g", "i915.enable_gvt is not 1", fix));
    else
      add(pass("i915-gvt", "i915 GVT-g", "enabled (i915.enable_gvt=1)"));
    module_check("kvmgt", "not loaded (GVT-g's mdev driver)");
  }

  void nvidia() {
    const char* id = "nvidia-vgpu-driver";
    const char* title = "NVIDIA vGPU host driver";
    if (module_loaded("nvidia_vgpu_vfio"))
      add(pass(id, title, "loaded (nvidia_vgpu_vfio)"));
    else
      add(bad(Verdict::fail, id, title, "nvidia_vgpu_vfio is not loaded",
              "install NVIDIA's vGPU host driver (Virtual GPU Manager for KVM), then sudo "
              "modprobe nvidia_vgpu_vfio"));
    for (const auto& m : p_->mdevs) {
      if (!m.type.starts_with("nvidia-")) continue;
      const std::string uuid_id = "vm-uuid:" + m.id, uuid_title = "mdev " + m.id + " -uuid";
      if (m.vm_uuid) {
        add(pass(uuid_id, uuid_title, "the mdev's uuid is the VM's"));
        continue;
      }
      add(bad(Verdict::fail, uuid_id, uuid_title,
              "the NVIDIA guest driver needs the VM's UUID to be the mdev's",
              "set \"vm-uuid\": true on mdev \"" + m.id + "\" in " + p_->file.string()));
    }
  }

  static std::optional<std::string> read_sysfs_text(const fs::path& path) {
    auto text = read_text(path);
    if (text) text = trim(*text);
    return text;
  }

  // Without a profile no parent is a FAIL, not a WARN: `check` alone asks whether this host can
  // run an mdev VM, and without a parent it cannot run any.
  void parents() {
    if (!needs_mdev())
      return add(pass("mdev-parents", "mdev parents", "none needed (the profile has no mdevs)"));
    const auto names = list_parent_names(h_.paths);
    if (names.empty()) {
      std::string fix =
          "load the parent device's mdev driver (Intel GVT-g: i915.enable_gvt=1 and "
          "kvmgt; NVIDIA: the vGPU host driver)";
      if (i915_) fix = "enable GVT-g: i915.enable_gvt=1 and the kvmgt module (see above)";
      if (nvidia_) fix = "load NVIDIA's vGPU host driver (see above)";
      return add(bad(Verdict::fail, "mdev-parents", "mdev parents",
                     "none registered (/sys/class/mdev_bus is empty or missing)", fix));
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    add(pass("mdev-parents", "mdev parents", list));
  }

  void profile_mdevs() {
    for (const auto& spec : p_->mdevs) {
      const std::string uuid = spec.uuid ? normalize_uuid(*spec.uuid).value_or(*spec.uuid)
                                         : derive_mdev_uuid(p_->name, spec.id);
      const std::string id = "mdev:" + spec.id, title = "mdev " + spec.id;
      try {
        if (auto dev = find_device(h_.paths, uuid)) {
          if (dev->type != spec.type || (spec.parent && dev->parent != *spec.parent)) {
            add(bad(Verdict::fail, id, title,
                    uuid + " exists as " + dev->type + " on " + dev->parent +
                        ", the profile wants " + spec.type +
                        (spec.parent ? " on " + *spec.parent : std::string()),
                    "remove it (echo 1 | sudo tee /sys/bus/mdev/devices/" + uuid +
                        "/remove) or give the profile another uuid"));
            continue;
          }
          add(pass(id, title,
                   uuid + " exists (" + dev->type + " on " + dev->parent + "): start reuses it"));
          existing_.push_back({spec.id, *dev});
          continue;
        }
        std::optional<MdevType> type;
        if (spec.parent) {
          type = read_type(h_.paths, *spec.parent, spec.type);
          if (!type) {
            add(bad(Verdict::fail, id, title,
                    "parent " + *spec.parent + " does not offer type " + spec.type,
                    "pick a parent and type that `mdevrun types` lists"));
            continue;
          }
        } else {
          for (const auto& parent : list_parents(h_.paths))
            for (const auto& t : parent.types)
              if (t.type == spec.type &&
                  (!type || (type->available_instances <= 0 && t.available_instances > 0)))
                type = t;
          if (!type) {
            add(bad(Verdict::fail, id, title, "no parent offers type " + spec.type,
                    "pick a type that `mdevrun types` lists"));
            continue;
          }
        }
        if (type->available_instances <= 0) {
          add(bad(Verdict::fail, id, title,
                  "type " + spec.type + " on " + type->parent + " has no free instance",
                  "stop a VM that uses one, or pick a smaller type (`mdevrun types`)"));
          continue;
        }
        add(pass(id, title,
                 spec.type + " on " + type->parent + " has " +
                     std::to_string(type->available_instances) + " free instance" +
                     (type->available_instances == 1 ? "" : "s") + "; start creates " + uuid));
        if (!h_.can_access(type->dir / "create", W_OK))
          add(bad(Verdict::fail, "mdev-create:" + spec.id, title + " create",
                  "this user cannot write " + (type->dir / "create").string(),
                  "create it once as root and keep it: mdevrun export " + p_->file.string() +
                      " --mdevctl | sudo sh (see the README's desktop set-up)"));
        missing_.push_back(spec.id);
      } catch (const Error& e) {
        add(bad(Verdict::fail, id, title, e.what(), "see `mdevrun types`"));
      }
    }
  }

  void vfio_nodes() {
    const fs::path container = h_.paths.dev / "vfio" / "vfio";
    const char* cid = "vfio-container";
    const char* ctitle = "/dev/vfio/vfio";
    std::error_code ec;
    if (!fs::exists(container, ec))
      add(bad(Verdict::fail, cid, ctitle, "missing", persist_module("vfio")));
    else if (!h_.can_access(container, R_OK | W_OK))
      add(bad(
          Verdict::fail, cid, ctitle, "this user cannot open it read-write",
          "sudo chmod 0666 /dev/vfio/vfio (its default mode; check udev rules that change it)"));
    else
      add(pass(cid, ctitle, "accessible"));
    // One result per mdev under one id: an mdev either exists (its node is checked) or start
    // would create it (the node cannot be checked yet).
    for (const auto& [id, dev] : existing_) {
      const std::string gid = "vfio-group:" + id, title = "mdev " + id + " vfio group";
      if (!dev.iommu_group) {
        add(bad(Verdict::fail, gid, title,
                "/sys/bus/mdev/devices/" + dev.uuid + " has no iommu_group link",
                "load vfio_iommu_type1 and the vendor's mdev driver, then recreate the mdev"));
        continue;
      }
      const std::string name = "/dev/vfio/" + std::to_string(*dev.iommu_group);
      const fs::path node = h_.paths.vfio_node(*dev.iommu_group);
      if (!fs::exists(node, ec))
        add(bad(Verdict::fail, gid, title, "missing",
                "check that vfio and the vendor's mdev driver are loaded (dmesg)", name));
      else if (!h_.can_access(node, R_OK | W_OK))
        add(bad(Verdict::fail, gid, title, "this user cannot open it", kUdevRule, name));
      else
        add(pass(gid, title, name + " is accessible"));
    }
    if (!h_.root)
      for (const auto& id : missing_)
        add(bad(Verdict::warn, "vfio-group:" + id, "mdev " + id + " vfio group",
                "the mdev does not exist yet, so its /dev/vfio node's access cannot be checked",
                "create the mdev once as root, and give the user's group the node: " +
                    std::string(kUdevRule)));
  }

  void memlock() {
    const char* id = "memlock";
    const char* title = "RLIMIT_MEMLOCK";
    if (h_.root) return add(pass(id, title, "not limited for root (CAP_IPC_LOCK)"));
    if (!h_.memlock_bytes) return add(pass(id, title, "unlimited"));
    const std::uint64_t have = *h_.memlock_bytes / (1024 * 1024);
    const std::string have_text = std::to_string(have) + " MiB";
    const std::string fix =
        "echo '@kvm - memlock unlimited' | sudo tee /etc/security/limits.d/mdevrun.conf, be in "
        "group kvm, log in again (check with ulimit -l)";
    if (!p_)
      return add(bad(Verdict::warn, id, title,
                     "vfio pins guest memory: a VM needs its memory + 1 GiB", fix, have_text));
    if (!needs_vfio()) return add(pass(id, title, "no vfio device, no pinned memory"));
    // libvirt's rule for VFIO devices: guest memory plus 1 GiB.
    const std::uint64_t need = p_->machine.memory_mib + 1024;
    if (have >= need)
      return add(pass(id, title, have_text + " (vfio needs " + std::to_string(need) + " MiB)"));
    add(bad(Verdict::fail, id, title,
            "vfio needs guest memory + 1 GiB = " + std::to_string(need) + " MiB", fix, have_text));
  }

  std::optional<ProgramOutput> qemu_run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {binary_};
    argv.insert(argv.end(), args.begin(), args.end());
    return h_.run_qemu(argv);
  }

  void qemu() {
    binary_ = p_ ? p_->qemu.binary : "qemu-system-x86_64";
    const auto version = qemu_run({"--version"});
    if (!version)
      return add(bad(Verdict::fail, "qemu", "qemu", binary_ + " not found or not executable",
                     std::string("install qemu ") + kQemuPackage));
    if (version->exit_code != 0)
      return add(bad(Verdict::fail, "qemu", "qemu",
                     binary_ + " --version failed: " + first_line(version->output),
                     std::string("reinstall qemu ") + kQemuPackage));
    const auto v = parse_qemu_version(version->output);
    const std::string found =
        binary_ + " " +
        (v ? std::to_string((*v)[0]) + "." + std::to_string((*v)[1]) + "." + std::to_string((*v)[2])
           : "unknown version");
    // vfio display and ramfb came with qemu 3.0/3.1.
    if (!v || *v < std::vector<int>{3, 1, 0})
      add(bad(Verdict::fail, "qemu", "qemu", "too old for vfio display and ramfb (3.1 or later)",
              std::string("install qemu 3.1 or later ") + kQemuPackage, found));
    else
      add(pass("qemu", "qemu", found));

    const auto help = qemu_run({"-device", "vfio-pci,help"});
    const std::string out = help ? help->output : std::string();
    std::vector<std::string> lacking;
    for (const char* prop : {"sysfsdev", "display"})
      if (out.find(std::string("  ") + prop + "=") == std::string::npos) lacking.push_back(prop);
    if (lacking.empty()) {
      add(pass("qemu-vfio-pci", "qemu vfio-pci", "offers sysfsdev and display"));
    } else {
      std::string list;
      for (const auto& l : lacking) list += (list.empty() ? "" : " and ") + l;
      add(bad(
          Verdict::fail, "qemu-vfio-pci", "qemu vfio-pci",
          "-device vfio-pci,help does not list " + list,
          std::string("use a qemu built with VFIO, as distributions build it ") + kQemuPackage));
    }
    if (p_ && std::any_of(p_->mdevs.begin(), p_->mdevs.end(), [](auto& m) { return m.ramfb; })) {
      const auto nh = qemu_run({"-device", "vfio-pci-nohotplug,help"});
      if (nh && nh->output.find("  ramfb=") != std::string::npos)
        add(pass("qemu-ramfb", "qemu vfio-pci-nohotplug", "offers ramfb"));
      else
        add(bad(Verdict::fail, "qemu-ramfb", "qemu vfio-pci-nohotplug",
                "-device vfio-pci-nohotplug,help does not list ramfb",
                "use qemu 3.1 or later, or set \"ramfb\": false in the profile"));
    }
    if (p_) display_backend();
  }

  void display_backend() {
    const std::string backend = to_string(p_->display.backend);
    const char* id = "display";
    const char* title = "qemu display";
    if (p_->display.backend == DisplayBackend::vnc)
      return add(pass(id, title, backend + " (built in)"));
    const std::string fix = ui_module_fix(p_->display.backend);
    if (p_->display.backend == DisplayBackend::spice) {
      const auto out = qemu_run({"-spice", "help"});
      if (out && out->exit_code == 0 && out->output.find("spice options") != std::string::npos)
        return add(pass(id, title, backend + " is available"));
      return add(
          bad(Verdict::fail, id, title, "-spice help: spice is not available", fix, backend));
    }
    const auto out = qemu_run({"-display", "help"});
    bool listed = false;
    if (out) {
      std::istringstream in(out->output);
      for (std::string line; std::getline(in, line);)
        if (trim(line) == backend) listed = true;
    }
    if (listed) return add(pass(id, title, backend + " is available"));
    add(bad(Verdict::fail, id, title, "not listed by -display help", fix, backend));
  }

  void gl() {
    const DisplaySpec& d = p_->display;
    const bool gl = d.gl || d.backend == DisplayBackend::egl_headless;
    if (!gl) {
      for (const auto& m : p_->mdevs) {
        if (m.display != OnOffAuto::on) continue;
        // GVT-g's display is a dmabuf: qemu exits with "vfio-display-dmabuf: opengl not
        // available" without GL. Region displays (mdpy) work without it.
        const bool dmabuf = m.type.starts_with("i915-");
        add(bad(dmabuf ? Verdict::fail : Verdict::warn, "mdev-display:" + m.id,
                "mdev " + m.id + " display",
                "display=on without a GL display: a dmabuf vGPU (GVT-g) needs one",
                "set \"display\": {\"backend\": \"gtk\", \"gl\": true} (or egl-headless) in " +
                    p_->file.string()));
      }
      return;
    }
    if (d.backend == DisplayBackend::gtk || d.backend == DisplayBackend::sdl) {
      const auto wayland = h_.getenv("WAYLAND_DISPLAY");
      const auto x = h_.getenv("DISPLAY");
      if (wayland) return add(pass("gl", "GL", "Wayland display " + *wayland));
      if (x) return add(pass("gl", "GL", "X display " + *x));
      return add(bad(Verdict::fail, "gl", "GL",
                     "needs X or Wayland: neither DISPLAY nor WAYLAND_DISPLAY is set",
                     "run it from the desktop session, or use egl-headless or spice with a render "
                     "node (/dev/dri/renderD128)",
                     to_string(d.backend) + ",gl=on"));
    }
    render_node();
  }

  // The same "gl" check as gtk's: whichever GL the profile uses, one result says whether it works.
  void render_node() {
    std::vector<std::pair<std::string, fs::path>> nodes;  // (shown name, path under the dev root)
    if (p_->display.rendernode) {
      const std::string& named = *p_->display.rendernode;
      fs::path path = named;
      if (named.starts_with("/dev/")) path = h_.paths.dev / named.substr(5);
      nodes.emplace_back(named, path);
    } else {
      std::error_code ec;
      std::vector<std::string> names;
      for (fs::directory_iterator it(h_.paths.dev / "dri", ec), end; !ec && it != end;
           it.increment(ec))
        if (it->path().filename().string().starts_with("renderD"))
          names.push_back(it->path().filename().string());
      std::sort(names.begin(), names.end());
      for (const auto& n : names) nodes.emplace_back("/dev/dri/" + n, h_.paths.dev / "dri" / n);
    }
    std::error_code ec;
    std::string denied;
    for (const auto& [name, path] : nodes) {
      if (!fs::exists(path, ec)) continue;
      if (h_.can_access(path, R_OK | W_OK))
        return add(pass("gl", "GL", "render node " + name + " is accessible"));
      denied = name;
    }
    if (!denied.empty())
      return add(bad(Verdict::fail, "gl", "GL", "this user cannot open it",
                     "sudo usermod -aG render $USER, then log in again", "render node " + denied));
    add(bad(Verdict::fail, "gl", "GL",
            (p_->display.rendernode ? *p_->display.rendernode + " is missing"
                                    : std::string("no /dev/dri/renderD* node")) +
                " (" + to_string(p_->display.backend) + " GL renders on the host GPU)",
            "load the host GPU's DRM driver (e.g. sudo modprobe i915), or name an existing node "
            "in display.rendernode",
            "render node"));
  }

  const HostView& h_;
  const Profile* p_;
  std::set<std::string> flags_;
  std::string vendor_;
  bool i915_ = false, nvidia_ = false, iommu_on_ = false;
  std::string binary_;
  std::vector<std::pair<std::string, MdevDevice>> existing_;  ///< (spec id, device)
  std::vector<std::string> missing_;                          ///< spec ids start would create
  std::vector<CheckResult> out_;
};

}  // namespace

std::optional<std::vector<int>> parse_qemu_version(const std::string& output) {
  static const std::regex re(R"(version (\d+)\.(\d+)(?:\.(\d+))?)");
  std::smatch m;
  if (!std::regex_search(output, m, re)) return std::nullopt;
  return std::vector<int>{std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0};
}

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

std::vector<CheckResult> run_host_checks(const HostView& host, const Profile* profile) {
  return Checker(host, profile).run();
}

}  // namespace mdevrun

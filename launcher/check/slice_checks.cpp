// slice_checks: what a profile's PCI slices (vf, nvidia-vgpu, pci) need from the host, judged by
// the code start runs: the PF pick (pf_matches), a dry run of ensure_slices, and the IOMMU-group
// rule (group_blockers). Interrupt remapping, the vfio-pci driver, NVIDIA's VFs, and an Intel iGPU
// too new for the GVT-g profile it is given. Reads only.
#include <algorithm>
#include <set>
#include <string>

#include "base/text.hpp"
#include "check/detail/checker.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/pci_group.hpp"
#include "devices/pci_inventory.hpp"
#include "devices/slice_ensure.hpp"

namespace mdevrun::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIgpu = "0000:00:02.0";  // Intel's integrated GPU, on every generation

bool is_nvidia(const SliceSpec& s) {
  return s.mechanism == SliceMechanism::nvidia_vgpu;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// What the PF's vendor needs for SR-IOV, for a PF that shows none.
std::string sriov_fix(const PciFunction& f) {
  if (f.id.vendor == 0x8086)
    return "Intel Gen12+ graphics (Alder Lake and newer) gets VFs from the xe driver, or from i915 "
           "built from i915-sriov-dkms (with i915.max_vfs=7); Gen9/9.5 graphics has none (use an "
           "mdev slice with GVT-g); for a NIC load its SR-IOV driver and enable SR-IOV in the "
           "firmware setup";
  if (f.id.vendor == 0x10de)
    return "install NVIDIA's vGPU 17+ host driver (Ada, Hopper, Blackwell on Linux >= 6.8): it "
           "gives the GPU its VFs; older GPUs slice with mdev types";
  return "load a driver that supports SR-IOV for this device and enable SR-IOV in the firmware "
         "setup; `mdevrun types` lists the PFs the host has";
}

// `slice "id": what` -> `what`: the check's title names the slice already.
std::string without_prefix(const SliceSpec& s, const std::string& text) {
  const std::string prefix = "slice " + quoted(s.id) + ": ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

// "0000:41:00.0 (10de:26b9, driver nvidia)" for each PF, or "none".
std::string describe_pfs(const std::vector<PfReport>& pfs) {
  std::vector<std::string> seen;
  for (const auto& pf : pfs) seen.push_back(describe_function(pf.pf));
  return seen.empty() ? "none" : join(seen);
}

std::string wanted_vfs_text(const SliceSpec& s, const SriovState& sr) {
  const int wanted = s.numvfs.value_or(is_nvidia(s) ? sr.totalvfs : 1);
  return std::to_string(wanted) + " VF" + (wanted == 1 ? "" : "s");
}

// The PF a vf/nvidia-vgpu slice would use, judged: present, SR-IOV, VFs offered, a driver.
CheckResult pf_verdict(const Checker& c, const SliceSpec& s, const PciFunction& f) {
  const std::string id = "sriov-pf:" + s.id, title = "slice " + s.id + " PF";
  const std::string who = describe_function(f);
  if (!f.sriov)
    return bad(
        Verdict::fail, id, title,
        who + " has no SR-IOV (no sriov_totalvfs)" +
            (f.physfn ? "; it is a VF of " + *f.physfn + ": name that as \"pf\"" : std::string()),
        f.physfn ? "set \"pf\": " + quoted(*f.physfn) + " in " + c.profile->file.string()
                 : sriov_fix(f));
  const SriovState& sr = *f.sriov;
  if (sr.totalvfs <= 0)
    return bad(Verdict::fail, id, title, who + " offers no VFs (sriov_totalvfs is 0)",
               "enable SR-IOV for the device in the firmware setup (and, where its driver takes "
               "one, the driver's VF-count parameter)");
  if (!f.driver)
    return bad(Verdict::fail, id, title,
               who + ": VFs are enabled through the PF's driver, and none is bound",
               is_nvidia(s) ? "install and load NVIDIA's vGPU host driver"
                            : "load the PF's driver (Intel graphics: xe, or i915 from "
                              "i915-sriov-dkms; a NIC: its own driver)");
  const int wanted = s.numvfs.value_or(is_nvidia(s) ? sr.totalvfs : 1);
  if (wanted > sr.totalvfs)
    return bad(Verdict::fail, id, title,
               who + " offers " + std::to_string(sr.totalvfs) + " VFs, the profile asks for " +
                   std::to_string(wanted),
               "lower \"numvfs\" of slice " + quoted(s.id) + " in " + c.profile->file.string());
  if (sr.numvfs > 0 && s.numvfs && sr.numvfs < *s.numvfs)
    return bad(Verdict::fail, id, title,
               who + " has " + std::to_string(sr.numvfs) + " VFs enabled, the profile asks for " +
                   std::to_string(*s.numvfs) + "; the kernel changes sriov_numvfs only from 0",
               "stop what uses them and write 0 to the PF's sriov_numvfs, or set \"numvfs\" to " +
                   std::to_string(sr.numvfs));
  std::string detail = who + ": " + std::to_string(sr.numvfs) + " of " +
                       std::to_string(sr.totalvfs) + " VFs enabled";
  if (sr.numvfs == 0)
    detail += "; start enables " + wanted_vfs_text(s, sr) + " (and disables them at exit)";
  return pass(id, title, detail);
}

void check_pf(Checker& c, const PciSysfs& pci, const std::vector<PfReport>& pfs,
              const SliceSpec& s) {
  const std::string id = "sriov-pf:" + s.id, title = "slice " + s.id + " PF";
  if (s.pf.address) {
    if (auto f = pci.read(*s.pf.address)) return c.add(pf_verdict(c, s, *f));
    return c.add(bad(Verdict::fail, id, title, "no PCI device " + *s.pf.address,
                     "`lspci -D` lists the devices, `mdevrun types` the SR-IOV PFs; fix \"pf\" of "
                     "slice " +
                         quoted(s.id) + " in " + c.profile->file.string()));
  }
  // As ensure picks: the first PF (by address) that offers VFs and matches the selector.
  for (const auto& pf : pfs)
    if (pf_matches(pf.pf, s.pf, is_nvidia(s))) return c.add(pf_verdict(c, s, pf.pf));
  std::string want;
  if (s.pf.vendor_device) want += " " + *s.pf.vendor_device;
  if (s.pf.driver) want += " on driver " + *s.pf.driver;
  if (is_nvidia(s) && !s.pf.any()) want = " from NVIDIA (10de)";
  c.add(bad(Verdict::fail, id, title,
            "no SR-IOV physical function" + want + "; SR-IOV PFs here: " + describe_pfs(pfs),
            is_nvidia(s) && !s.pf.any()
                ? "install NVIDIA's vGPU 17+ host driver: it gives supported GPUs their VFs"
                : "`mdevrun types` lists the SR-IOV PFs; name one as \"pf\" of slice " +
                      quoted(s.id) + " in " + c.profile->file.string()));
}

// The function start would give qemu, and whether its IOMMU group lets it.
void check_group(Checker& c, const PciSysfs& pci, const SliceSpec& s, const ResolvedSlice& r,
                 bool planned, const std::set<std::string>& allowed) {
  const std::string id = "iommu-group:" + s.id, title = "slice " + s.id + " IOMMU group";
  // A VF is known once the dry run planned one; a placeholder has no address.
  const std::string address = s.mechanism == SliceMechanism::pci ? s.address
                              : planned                          ? r.address
                                                                 : std::string();
  if (address.empty() && planned)
    return c.add(pass(id, title,
                      "the VF is not known before start enables the VFs: start checks its group "
                      "then, and disables them again if it is not viable"));
  if (address.empty())
    return c.add(bad(
        Verdict::warn, id, title,
        "not checked: which function start would use is not known (slice:" + s.id + " says why)",
        "fix what slice:" + s.id + " reports first"));
  const auto f = pci.read(address);
  if (!f &&
      s.mechanism == SliceMechanism::pci)  // a whole device is there or not: no VFs to wait for
    return c.add(bad(Verdict::warn, id, title,
                     "not checked: " + address + " does not exist (slice:" + s.id + " says so)",
                     "fix what slice:" + s.id + " reports first"));
  if (!f)
    return c.add(pass(id, title,
                      address +
                          " does not exist yet (its VFs are not enabled): start checks its "
                          "group once they are, and disables them again if it is not viable"));
  if (!f->iommu_group)
    return c.add(bad(Verdict::fail, id, title, address + " has no IOMMU group: the IOMMU is off",
                     iommu_fix(c)));
  const int group = *f->iommu_group;
  const auto blockers = group_blockers(pci, group, address, allowed);
  if (!blockers.empty()) {
    std::vector<std::string> others;
    for (const auto& o : blockers) others.push_back(describe_function(o));
    return c.add(bad(Verdict::fail, id, title,
                     address + " shares IOMMU group " + std::to_string(group) + " with " +
                         join(others) + ", and vfio needs the whole group",
                     "pass those through too (add \"pci\" slices for them), or move the card to "
                     "a slot with its own group"));
  }
  const auto members = pci.group_members(group);
  c.add(pass(id, title,
             members.size() <= 1
                 ? address + " is alone in IOMMU group " + std::to_string(group)
                 : address + ": IOMMU group " + std::to_string(group) +
                       " holds only bridges and this profile's own devices besides it"));
}

// The IR- prefix qemu's host kernel gives interrupt chips behind interrupt remapping
// (IR-IO-APIC, IR-PCI-MSI, IR-PCI-MSIX-<device>), Intel and AMD alike.
bool remapped_interrupts(const std::string& interrupts) {
  for (const auto& w : words(interrupts))
    if (w.starts_with("IR-")) return true;
  return false;
}

// Intel: whether every DMAR unit's extended capability register has IR (bit 3); none without
// intel-iommu units in sysfs.
std::optional<bool> intel_ir_supported(const Checker& c, std::string* lacking) {
  std::optional<bool> all;
  std::error_code ec;
  for (fs::directory_iterator it(c.host.paths.sys / "class" / "iommu", ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto text = read_text(it->path() / "intel-iommu" / "ecap");
    if (!text) continue;
    unsigned long long ecap = 0;
    try {
      ecap = std::stoull(trim(*text), nullptr, 16);
    } catch (const std::exception&) {
      continue;
    }
    const bool ir = (ecap >> 3) & 1;
    if (!ir && lacking) *lacking = it->path().filename().string();
    all = all.value_or(true) && ir;
  }
  return all;
}

}  // namespace

void check_interrupt_remapping(Checker& c) {
  const char* id = "interrupt-remapping";
  const char* title = "interrupt remapping";
  const auto unsafe_text = read_text(c.host.paths.sys / "module" / "vfio_iommu_type1" /
                                     "parameters" / "allow_unsafe_interrupts");
  const bool unsafe = unsafe_text && (trim(*unsafe_text) == "Y" || trim(*unsafe_text) == "1");
  const auto interrupts = read_text(c.host.paths.proc / "interrupts");
  if (interrupts && remapped_interrupts(*interrupts))
    return c.add(pass(id, title,
                      std::string("enabled (IR- interrupt chips in /proc/interrupts)") +
                          (unsafe ? "; vfio_iommu_type1 allow_unsafe_interrupts=Y is set but "
                                    "not needed"
                                  : "")));
  const auto cmdline = read_text(c.host.paths.proc / "cmdline");
  const auto w = cmdline ? words(*cmdline) : std::vector<std::string>{};
  const bool off_by_cmdline = std::find(w.begin(), w.end(), "intremap=off") != w.end();
  std::string lacking;
  const auto supported = intel_ir_supported(c, &lacking);
  // What sysfs and /proc show, or none when they do not tell.
  std::optional<std::string> state;
  if (interrupts)
    state = "off (no IR- interrupt chips in /proc/interrupts)";
  else if (off_by_cmdline)
    state = "off (intremap=off on the kernel command line)";
  else if (supported == false)
    state = "not supported by the IOMMU (" + lacking + ": ecap bit 3, IR, is clear)";
  else if (supported == true)
    return c.add(pass(id, title,
                      "supported by every Intel IOMMU unit (ecap IR bit) and not turned off on "
                      "the kernel command line (/proc/interrupts was not readable to confirm)"));
  const std::string enable =
      "enable VT-d (Intel) or AMD-Vi with interrupt remapping in the firmware setup and keep "
      "intremap=off off the kernel command line";
  if (unsafe)
    return c.add(bad(Verdict::warn, id, title,
                     (state ? *state : std::string("cannot tell whether it is on")) +
                         ", and vfio_iommu_type1 allow_unsafe_interrupts=Y lets vfio take "
                         "devices without it: a device can inject interrupts into the host: only "
                         "for trusted guests",
                     enable + ", then remove allow_unsafe_interrupts from /etc/modprobe.d"));
  if (!state)
    return c.add(bad(Verdict::warn, id, title,
                     "cannot tell: /proc/interrupts is not readable and sysfs shows no Intel "
                     "IOMMU capabilities",
                     "look for \"Enabled IRQ remapping\" (Intel) or \"Interrupt remapping "
                     "enabled\" (AMD) in sudo dmesg; without it vfio refuses the device"));
  c.add(bad(
      Verdict::fail, id, title,
      *state + ": vfio_iommu_type1 refuses the device (qemu: \"Failed to set iommu for "
               "container: Operation not permitted\")",
      enable + "; on a platform without it, and only for trusted guests: echo 'options "
               "vfio_iommu_type1 allow_unsafe_interrupts=1' | sudo tee /etc/modprobe.d/vfio.conf"));
}

// GVT-g ends with Gen9.5 (10th-gen Core); a newer iGPU offers SR-IOV VFs instead. Approximated by
// what sysfs shows: the iGPU registers no mdev types but has sriov_totalvfs.
void check_gvtg_igpu(Checker& c) {
  const char* id = "gvtg-on-new-igpu";
  const char* title = "GVT-g on this iGPU";
  const PciSysfs pci(c.host.paths);
  const auto igpu = pci.read(kIgpu);
  if (!igpu || igpu->id.vendor != 0x8086)
    return c.add(pass(id, title, std::string("no Intel iGPU at ") + kIgpu + " to judge"));
  const auto parents = list_parent_names(c.host.paths);
  if (std::find(parents.begin(), parents.end(), kIgpu) != parents.end())
    return c.add(pass(id, title, describe_function(*igpu) + " offers mdev types"));
  if (!igpu->sriov)
    return c.add(pass(id, title,
                      describe_function(*igpu) +
                          " shows no mdev types and no SR-IOV: GVT-g may not be enabled yet (see "
                          "i915-gvt)"));
  c.add(bad(Verdict::fail, id, title,
            "the iGPU " + describe_function(*igpu) +
                " has no GVT-g (it ends with Gen9.5, 10th-gen Core): it offers " +
                std::to_string(igpu->sriov->totalvfs) + " SR-IOV VFs instead",
            std::string("slice it with a VF: replace the i915-GVTg mdev with a \"vf\" slice, "
                        "{\"id\": \"gpu0\", \"mechanism\": \"vf\", \"pf\": \"") +
                kIgpu +
                "\"}, as the example profile intel-sriov-desktop.json does (profiles/ in the "
                "source, share/mdevrun/ once installed)"));
}

void check_vfio_pci_driver(Checker& c) {
  if (std::all_of(c.profile->slices.begin(), c.profile->slices.end(), is_nvidia)) return;
  const char* id = "vfio-pci";
  const char* title = "vfio-pci driver";
  const PciSysfs pci(c.host.paths);
  if (pci.driver_loaded("vfio-pci"))
    return c.add(pass(id, title, "loaded (/sys/bus/pci/drivers/vfio-pci)"));
  if (c.module_loaded("vfio_pci")) return c.add(pass(id, title, "loaded (/sys/module/vfio_pci)"));
  c.add(bad(Verdict::fail, id, title,
            "not loaded (no /sys/bus/pci/drivers/vfio-pci): vf and pci slices are given to it",
            persist_module("vfio-pci")));
}

void check_nvidia_vfs(Checker& c) {
  std::vector<const SliceSpec*> slices;
  for (const auto& s : c.profile->slices)
    if (is_nvidia(s)) slices.push_back(&s);
  if (slices.empty()) return;
  const char* id = "nvidia-vfs";
  const char* title = "NVIDIA VFs";
  std::vector<PfReport> used;
  for (auto& pf : list_sriov_pfs(c.host.paths))
    if (pf.pf.id.vendor == 0x10de &&
        std::any_of(slices.begin(), slices.end(),
                    [&](const SliceSpec* s) { return pf_matches(pf.pf, s->pf, true); }))
      used.push_back(std::move(pf));
  if (used.empty())
    return c.add(bad(Verdict::fail, id, title,
                     "no NVIDIA GPU with SR-IOV (vendor 10de with sriov_totalvfs) for the "
                     "profile's nvidia-vgpu slices",
                     "install NVIDIA's vGPU 17+ host driver (Virtual GPU Manager for KVM): it "
                     "gives supported GPUs (Ada, Hopper, Blackwell; Linux >= 6.8) their VFs"));
  std::vector<std::string> without, with;
  for (const auto& pf : used) {
    const auto& sr = *pf.pf.sriov;
    if (sr.numvfs == 0)
      without.push_back(pf.pf.address);
    else
      with.push_back(pf.pf.address + ": " + std::to_string(sr.numvfs) + " of " +
                     std::to_string(sr.totalvfs) + " VFs enabled");
  }
  if (without.empty()) return c.add(pass(id, title, join(with)));
  std::string enable;
  for (const auto& a : without)
    enable +=
        (enable.empty() ? "" : "; ") + std::string("sudo /usr/lib/nvidia/sriov-manage -e ") + a;
  c.add(bad(Verdict::warn, id, title,
            "no VFs enabled on " + join(without) +
                ", so their vGPU types cannot be read yet (mdevrun start enables them itself, as "
                "sriov-manage -e does, and disables them at exit)",
            "nothing, if start may do it; to see the creatable types now: " + enable +
                ", then mdevrun types"));
}

void check_slices(Checker& c) {
  const PciSysfs pci(c.host.paths);
  const auto pfs = list_sriov_pfs(c.host.paths);
  const auto allowed = whole_device_addresses(c.profile->slices);
  SliceEnsureResult plan;
  std::string plan_error;
  try {
    plan = ensure_slices(c.host.paths, c.profile->slices, EnsureMode::dry_run);
  } catch (const std::exception& e) {
    plan_error = e.what();
  }
  for (std::size_t i = 0; i < c.profile->slices.size(); ++i) {
    const SliceSpec& s = c.profile->slices[i];
    if (s.mechanism != SliceMechanism::pci) check_pf(c, pci, pfs, s);
    const std::string id = "slice:" + s.id, title = "slice " + s.id;
    const auto failed = plan.unplanned.find(s.id);
    const bool planned =
        plan_error.empty() && failed == plan.unplanned.end() && i < plan.slices.size();
    if (!planned) {
      c.add(bad(Verdict::fail, id, title,
                without_prefix(s, failed != plan.unplanned.end() ? failed->second : plan_error),
                "`mdevrun types` lists the host's PFs, VFs and vGPU types; `mdevrun start "
                "--dry-run` gives the same message"));
    } else {
      const std::string prefix = "slice " + quoted(s.id) + ": ";
      std::vector<std::string> said;
      for (const auto& n : plan.notes)
        if (n.starts_with(prefix)) said.push_back(n.substr(prefix.size()));
      const ResolvedSlice& r = plan.slices[i];
      c.add(pass(id, title,
                 said.empty() ? "start uses " + r.address +
                                    (r.driver ? " (on " + *r.driver + ")" : std::string())
                              : join(said, "; ")));
    }
    check_group(c, pci, s, planned ? plan.slices[i] : ResolvedSlice{}, planned, allowed);
  }
}

}  // namespace mdevrun::detail

#include "devices/slice_ensure.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/text.hpp"
#include "devices/pci_errors.hpp"
#include "devices/pci_group.hpp"
#include "devices/pci_inventory.hpp"
#include "devices/pci_sysfs.hpp"
#include "devices/pci_undo.hpp"
#include "os/crash_point.hpp"
#include "os/vfio_holders.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
using K = PciChange::Kind;
constexpr const char* kVfio = "vfio-pci";

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

[[noreturn]] void fail(const SliceSpec& s, const std::string& what,
                       ExitCode code = ExitCode::mdev) {
  throw Error(code, "slice " + quoted(s.id) + ": " + what);
}

class SliceEnsurer {
 public:
  SliceEnsurer(const Host& host, EnsureMode mode, const SliceEnsureOptions& options)
      : host_(host), pci_(host), dry_(mode == EnsureMode::dry_run), options_(options) {}

  SliceEnsureResult run(const std::vector<SliceSpec>& specs) {
    profile_addresses_ = whole_device_addresses(specs);
    try {
      for (const auto& s : specs) {
        if (dry_) {
          try {
            result_.slices.push_back(ensure(s));
          } catch (const Error& e) {
            result_.notes.push_back(std::string("would fail: ") + e.what());
            result_.unplanned[s.id] = e.what();
            result_.slices.push_back(placeholder(s));
          }
        } else {
          result_.slices.push_back(ensure(s));
        }
        pf_lock_.reset();
      }
    } catch (...) {
      rollback();
      throw;
    }
    return std::move(result_);
  }

 private:
  // What a dry run can say about a slice it could not plan: the argv still shows its place.
  ResolvedSlice placeholder(const SliceSpec& s) {
    ResolvedSlice r{.id = s.id, .mechanism = s.mechanism};
    // A VF that cannot be planned has no address yet: empty, never the PF's (which would be
    // passed through whole by whoever used this plan).
    if (s.mechanism == SliceMechanism::pci) r.address = s.address;
    r.pf = s.pf.address;
    return r;
  }

  ResolvedSlice ensure(const SliceSpec& s) {
    switch (s.mechanism) {
      case SliceMechanism::pci:
        return whole_device(s);
      case SliceMechanism::vf:
        return virtual_function(s);
      case SliceMechanism::nvidia_vgpu:
        return nvidia_vgpu(s);
    }
    fail(s, "unknown mechanism");
  }

  // --- the three mechanisms ---------------------------------------------------------------

  ResolvedSlice whole_device(const SliceSpec& s) {
    const auto f = pci_.read(s.address);
    if (!f)
      fail(s, "no PCI device " + s.address + " (" +
                  (host_.sys / "bus/pci/devices" / s.address).string() +
                  " is missing); `lspci -D` lists the devices");
    if (f->sriov && f->sriov->numvfs > 0)
      fail(s, s.address + " has " + std::to_string(f->sriov->numvfs) +
                  " VFs enabled; a PF cannot be passed through while its VFs exist: use a "
                  "\"vf\" slice, or disable them (write 0 to sriov_numvfs)");
    need_vfio_driver(s);
    const int group = need_group(s, *f);
    need_viable_group(s, *f, group);
    lock_function(s, s.address);
    ResolvedSlice r{.id = s.id, .mechanism = s.mechanism, .address = s.address};
    r.iommu_group = group;
    r.exists = true;
    give_to_vfio(s, *f, r);
    return r;
  }

  ResolvedSlice virtual_function(const SliceSpec& s) {
    const PciFunction pf = pick_pf(s);
    need_vfio_driver(s);
    lock_pf(s, pf.address);
    const auto vfs = enabled_vfs(s, pf, s.numvfs.value_or(1), true);
    // An explicit VF may be taken from a host driver; an automatic pick only takes free ones.
    std::optional<PciFunction> chosen;
    std::string why_not;
    for (std::size_t k = 0; k < vfs.size(); ++k) {
      if (s.vf && static_cast<std::size_t>(*s.vf) != k) continue;
      auto v = pci_.read(vfs[k]);
      if (!v && !dry_) continue;
      if (!v) {  // a dry run before the VFs exist: this is the one start would pick
        chosen = PciFunction{.address = vfs[k]};
        break;
      }
      if (v->driver && *v->driver != kVfio && !s.vf) {
        why_not += "; " + vfs[k] + " is bound to " + *v->driver;
        continue;
      }
      if (auto busy = held_elsewhere(*v)) {
        if (s.vf) fail(s, "VF " + vfs[k] + " " + *busy, ExitCode::busy);
        why_not += "; " + vfs[k] + " " + *busy;
        continue;
      }
      chosen = *v;
      break;
    }
    if (!chosen) {
      if (s.vf && static_cast<std::size_t>(*s.vf) >= vfs.size())
        fail(s, "PF " + pf.address + " has " + std::to_string(vfs.size()) +
                    " VFs enabled; there is no VF " + std::to_string(*s.vf) +
                    " (VFs count from 0)");
      fail(s,
           "no free VF on PF " + pf.address + why_not +
               "; stop a VM that uses one, or raise \"numvfs\" (only while none is in use)",
           ExitCode::busy);
    }
    ResolvedSlice r{.id = s.id, .mechanism = s.mechanism, .address = chosen->address};
    r.pf = pf.address;
    r.vf_index = static_cast<int>(std::find(vfs.begin(), vfs.end(), chosen->address) - vfs.begin());
    if (dry_ && chosen->id.vendor == 0) {
      result_.notes.push_back("slice " + quoted(s.id) + ": would enable VFs on " + pf.address +
                              " and give VF " + chosen->address + " to vfio-pci");
      return r;
    }
    const int group = need_group(s, *chosen);
    need_viable_group(s, *chosen, group);
    lock_function(s, chosen->address);
    r.iommu_group = group;
    r.exists = true;
    give_to_vfio(s, *chosen, r);
    return r;
  }

  ResolvedSlice nvidia_vgpu(const SliceSpec& s) {
    const PciFunction pf = pick_pf(s);
    lock_pf(s, pf.address);
    const auto vfs = enabled_vfs(s, pf, s.numvfs.value_or(pf.sriov->totalvfs), false);
    std::optional<PciFunction> chosen;
    std::optional<NvidiaVgpuType> type;
    std::set<std::string> creatable_anywhere;
    std::string why_not;
    for (std::size_t k = 0; k < vfs.size(); ++k) {
      if (s.vf && static_cast<std::size_t>(*s.vf) != k) continue;
      auto v = pci_.read(vfs[k]);
      if (!v && dry_) {  // VFs not enabled yet: start would enable them and try this one first
        result_.notes.push_back("slice " + quoted(s.id) + ": would enable the VFs of " +
                                pf.address + " and set the vGPU type on " + vfs[k] +
                                " if it is creatable there");
        return {.id = s.id, .mechanism = s.mechanism, .address = vfs[k], .pf = pf.address};
      }
      if (!v) continue;
      if (!v->nvidia_vgpu) {
        why_not += "; " + vfs[k] + " has no nvidia/current_vgpu_type (is it bound to nvidia?)";
        continue;
      }
      const auto types = pci_.creatable_vgpu_types(vfs[k]);
      for (const auto& t : types) creatable_anywhere.insert(std::to_string(t.id) + " " + t.name);
      if (pci_.current_vgpu_type(vfs[k]).value_or(0) != 0) {
        why_not += "; " + vfs[k] + " already has a vGPU type";
        continue;
      }
      const auto match = std::find_if(types.begin(), types.end(), [&](const NvidiaVgpuType& t) {
        return s.vgpu_type_id ? t.id == *s.vgpu_type_id : t.name == *s.vgpu_type_name;
      });
      if (match == types.end()) continue;
      if (auto busy = held_elsewhere(*v)) {
        why_not += "; " + vfs[k] + " " + *busy;
        continue;
      }
      chosen = *v;
      type = *match;
      break;
    }
    const std::string wanted = s.vgpu_type_id ? "type " + std::to_string(*s.vgpu_type_id)
                                              : "type " + quoted(s.vgpu_type_name.value_or(""));
    if (!chosen) {
      if (dry_ && vfs.empty()) {
        result_.notes.push_back("slice " + quoted(s.id) + ": would enable the VFs of " +
                                pf.address + " and set " + wanted + " on the first free one");
        return {.id = s.id, .mechanism = s.mechanism, .address = "", .pf = pf.address};
      }
      std::vector<std::string> offered(creatable_anywhere.begin(), creatable_anywhere.end());
      fail(s,
           "no VF of " + pf.address + " can create vGPU " + wanted + " now" + why_not +
               "; creatable now: " + (offered.empty() ? "none" : join(offered)) +
               " (`mdevrun types` lists them; a GPU in homogeneous mode offers only the "
               "type its VFs already use)",
           ExitCode::mdev);
    }
    const int group = need_group(s, *chosen);
    need_viable_group(s, *chosen, group);
    lock_function(s, chosen->address);
    ResolvedSlice r{.id = s.id, .mechanism = s.mechanism, .address = chosen->address};
    r.pf = pf.address;
    r.vf_index = static_cast<int>(std::find(vfs.begin(), vfs.end(), chosen->address) - vfs.begin());
    r.iommu_group = group;
    r.driver = chosen->driver;
    r.vgpu_type = type->id;
    r.vgpu_name = type->name;
    r.exists = true;
    if (dry_) {
      result_.notes.push_back("slice " + quoted(s.id) + ": would set vGPU type " +
                              std::to_string(type->id) + " (" + type->name + ") on VF " +
                              chosen->address);
      return r;
    }
    change(
        s, {K::vgpu_type, s.id, chosen->address, "0", std::to_string(type->id)},
        [&] { return pci_.write_vgpu_type(chosen->address, type->id); },
        pci_.vgpu_type_file(chosen->address), std::to_string(type->id));
    if (pci_.current_vgpu_type(chosen->address) != type->id)
      fail(s, "VF " + chosen->address + " does not show vGPU type " + std::to_string(type->id) +
                  " after it was written; check `dmesg` and nvidia-smi vgpu");
    wait_for_node(s, group);
    return r;
  }

  // --- steps -----------------------------------------------------------------------------

  // The PF a vf/nvidia-vgpu slice names, or the first (by address) that matches its selector.
  PciFunction pick_pf(const SliceSpec& s) {
    const bool nvidia = s.mechanism == SliceMechanism::nvidia_vgpu;
    std::vector<std::string> candidates;
    if (s.pf.address)
      candidates.push_back(*s.pf.address);
    else
      candidates = pci_.addresses();
    std::vector<std::string> seen;
    for (const auto& a : candidates) {
      const auto f = pci_.read(a);
      if (!f) continue;
      if (!f->sriov) {
        if (s.pf.address)
          fail(s, a + " is not an SR-IOV physical function (no sriov_totalvfs)" +
                      (f->physfn ? "; it is a VF of " + *f->physfn + ": name that as \"pf\""
                                 : std::string("")));
        continue;
      }
      seen.push_back(describe_function(*f));
      if (!pf_matches(*f, s.pf, nvidia)) continue;
      if (f->sriov->totalvfs <= 0) {
        if (s.pf.address) fail(s, a + " offers no VFs (sriov_totalvfs is 0)");
        continue;
      }
      if (!f->driver)
        fail(s, "PF " + a + " has no driver bound; its driver enables SR-IOV: load " +
                    (nvidia ? std::string("the NVIDIA vGPU host driver") : "its module") +
                    " first");
      return *f;
    }
    if (s.pf.address) fail(s, "no PCI device " + *s.pf.address + "; `lspci -D` lists them");
    std::string want;
    if (s.pf.vendor_device) want += " " + *s.pf.vendor_device;
    if (s.pf.driver) want += " on driver " + *s.pf.driver;
    if (nvidia && !s.pf.any()) want = " from NVIDIA (10de)";
    fail(s, "no SR-IOV physical function" + want +
                " found; SR-IOV PFs here: " + (seen.empty() ? "none" : join(seen)) +
                (nvidia ? " (is the NVIDIA vGPU host driver loaded?)" : ""));
  }

  // The PF's VF addresses, enabling `wanted` VFs when none are (only raised from 0: the kernel
  // refuses any other change while VFs exist). `generic`: turn autoprobe off first.
  std::vector<std::string> enabled_vfs(const SliceSpec& s, const PciFunction& pf, int wanted,
                                       bool generic) {
    const SriovState& sr = *pf.sriov;
    if (wanted > sr.totalvfs)
      fail(s, "PF " + pf.address + " offers " + std::to_string(sr.totalvfs) +
                  " VFs (sriov_totalvfs), the profile asks for " + std::to_string(wanted) +
                  "; lower \"numvfs\"");
    if (sr.numvfs > 0) {
      if (s.numvfs && sr.numvfs < *s.numvfs)
        fail(s, "PF " + pf.address + " has " + std::to_string(sr.numvfs) +
                    " VFs enabled, the profile asks for " + std::to_string(*s.numvfs) +
                    "; the kernel changes sriov_numvfs only from 0: stop what uses them and "
                    "write 0 to " +
                    pci_.numvfs_file(pf.address).string() + ", or set \"numvfs\" to " +
                    std::to_string(sr.numvfs));
      return sr.vfs;
    }
    if (dry_) {
      std::vector<std::string> planned;
      for (int k = 0; k < wanted; ++k)
        if (auto a = vf_address(pf.address, sr.offset, sr.stride, k)) planned.push_back(*a);
      return planned;
    }
    // With autoprobe on, the PF's driver would claim every new VF before vfio-pci could.
    if (generic && sr.drivers_autoprobe.value_or(false))
      change(
          s, {K::autoprobe, s.id, pf.address, "1", "0"},
          [&] { return pci_.write_autoprobe(pf.address, false); }, pci_.autoprobe_file(pf.address),
          "0");
    change(
        s, {K::numvfs, s.id, pf.address, "0", std::to_string(wanted)},
        [&] { return pci_.write_numvfs(pf.address, wanted); }, pci_.numvfs_file(pf.address),
        std::to_string(wanted));
    // The kernel adds the VFs during the write; their sysfs entries may lag a moment.
    const auto deadline = Clock::now() + options_.vf_timeout;
    for (;;) {
      const auto now = pci_.read(pf.address);
      if (now && now->sriov && static_cast<int>(now->sriov->vfs.size()) >= wanted) {
        bool all = true;
        for (const auto& vf : now->sriov->vfs) all = all && pci_.exists(vf);
        if (all) return now->sriov->vfs;
      }
      if (Clock::now() >= deadline)
        fail(s, "PF " + pf.address + " took sriov_numvfs=" + std::to_string(wanted) +
                    " but its VFs did not appear within " + format_seconds(options_.vf_timeout) +
                    "; check `dmesg`");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void need_vfio_driver(const SliceSpec& s) {
    if (!pci_.driver_loaded(kVfio))
      fail(s, "the vfio-pci driver is not loaded (" +
                  (host_.sys / "bus/pci/drivers/vfio-pci").string() +
                  " is missing): modprobe vfio-pci (and add it to /etc/modules to keep it)");
  }

  int need_group(const SliceSpec& s, const PciFunction& f) {
    if (!f.iommu_group)
      fail(s, f.address +
                  " has no IOMMU group: the IOMMU is off; boot with intel_iommu=on "
                  "(Intel) or enable AMD-Vi/IOMMU in the firmware (AMD)");
    return *f.iommu_group;
  }

  // vfio opens a whole group: the rule is devices/pci_group's, which check reports by too.
  void need_viable_group(const SliceSpec& s, const PciFunction& f, int group) {
    std::vector<std::string> others;
    for (const auto& o : group_blockers(pci_, group, f.address, profile_addresses_))
      others.push_back(describe_function(o));
    if (!others.empty())
      fail(s, f.address + " shares IOMMU group " + std::to_string(group) + " with " + join(others) +
                  "; vfio needs the whole group: pass those through too (add \"pci\" slices), "
                  "or move the card to a slot with its own group");
  }

  // Whether a function is someone else's: another mdevrun's lock, or a process holding its group.
  std::optional<std::string> held_elsewhere(const PciFunction& f) {
    if (!options_.lock_dir.empty()) {
      std::optional<pid_t> holder;
      const auto path = pci_lock_path(options_.lock_dir, f.address);
      std::error_code ec;
      if (fs::exists(path, ec)) {
        if (auto l = FileLock::try_lock(path, &holder)) {
          l->release();  // a leftover of a crash: free
        } else {
          return "is used by another mdevrun (" +
                 (holder ? "pid " + std::to_string(*holder) + ", " : std::string()) +
                 path.string() + ")";
        }
      }
    }
    if (f.iommu_group && f.driver == kVfio) {
      const auto holders = find_node_holders(host_.vfio_node(*f.iommu_group), host_.proc);
      if (!holders.empty())
        return "is in use: " + host_.vfio_node(*f.iommu_group).string() + " is held by " +
               describe_holders(holders);
    }
    return std::nullopt;
  }

  void lock_function(const SliceSpec& s, const std::string& address) {
    if (dry_ || options_.lock_dir.empty()) return;
    const auto path = pci_lock_path(options_.lock_dir, address);
    const std::uint64_t intent =
        options_.log
            ? options_.log->intend({DeviceChange::Kind::lock_pci, {}, {.address = address}})
            : 0;
    std::optional<pid_t> holder;
    auto lock = FileLock::try_lock(path, &holder);
    if (options_.log) options_.log->finish(intent, lock ? 0 : EWOULDBLOCK);
    if (!lock)
      fail(s,
           address + " is used by another mdevrun (" +
               (holder ? "pid " + std::to_string(*holder) + ", " : std::string()) + "lock " +
               path.string() + "): stop that instance first",
           ExitCode::busy);
    result_.locks.push_back(std::move(*lock));
    locked_.insert(address);
  }

  // Held while this slice enables or picks VFs, so two launchers never pick the same VF and a
  // cleanup never disables VFs another launcher is about to take. Journaled like a device lock:
  // a crash while it is held leaves the file for recovery to drop.
  void lock_pf(const SliceSpec& s, const std::string& pf) {
    if (dry_ || options_.lock_dir.empty()) return;
    const std::uint64_t intent =
        options_.log ? options_.log->intend({DeviceChange::Kind::lock_pci, {}, {.address = pf}})
                     : 0;
    try {
      pf_lock_ = wait_for_pf_lock(options_.lock_dir, pf, options_.lock_timeout);
    } catch (const Error& e) {
      if (options_.log) options_.log->finish(intent, EWOULDBLOCK);
      fail(s, e.what(), ExitCode::busy);
    }
    if (options_.log) options_.log->finish(intent, 0);
  }

  // Unbind from the host driver, driver_override=vfio-pci, probe; a function already on vfio-pci
  // is used as it is (and left so).
  void give_to_vfio(const SliceSpec& s, const PciFunction& f, ResolvedSlice& r) {
    if (f.driver == kVfio) {
      r.driver = kVfio;
      if (dry_)
        result_.notes.push_back("slice " + quoted(s.id) + ": " + f.address +
                                " is on vfio-pci already: used as it is");
      else
        wait_for_node(s, *r.iommu_group);
      return;
    }
    if (dry_) {
      result_.notes.push_back("slice " + quoted(s.id) + ": would take " + describe_function(f) +
                              " and bind it to vfio-pci");
      r.driver = kVfio;
      return;
    }
    if (f.driver)
      change(
          s, {K::unbind, s.id, f.address, *f.driver, ""},
          [&] { return pci_.unbind(f.address, *f.driver); }, pci_.driver_file(*f.driver, "unbind"),
          f.address);
    const std::string override_now = f.driver_override.value_or("");
    if (override_now != kVfio)
      change(
          s, {K::driver_override, s.id, f.address, override_now, kVfio},
          [&] { return pci_.write_driver_override(f.address, kVfio); },
          pci_.override_file(f.address), kVfio);
    change(
        s, {K::bind, s.id, f.address, "", kVfio},
        [&] {
          int err = pci_.probe(f.address);
          // drivers_probe succeeds even when no driver took the device: bind directly then.
          if (pci_.driver_of(f.address) != kVfio) err = pci_.bind(f.address, kVfio);
          return err;
        },
        pci_.probe_file(), f.address);
    const auto now = pci_.driver_of(f.address);
    if (now != kVfio)
      fail(s, f.address + " is " + (now ? "on " + *now : std::string("without a driver")) +
                  " after driver_override=vfio-pci and a probe; check `dmesg` (vfio-pci refuses "
                  "devices without an IOMMU group)");
    r.driver = kVfio;
    wait_for_node(s, *r.iommu_group);
  }

  void wait_for_node(const SliceSpec& s, int group) {
    const fs::path node = host_.vfio_node(group);
    const auto deadline = Clock::now() + options_.vfio_node_timeout;
    std::error_code ec;
    while (!fs::exists(node, ec)) {
      if (Clock::now() >= deadline)
        fail(s, node.string() + " did not appear within " +
                    format_seconds(options_.vfio_node_timeout) +
                    " of binding the device; is udev running? (`ls -l /dev/vfio`)");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // One journaled write: the intent is durable before `write` runs, its errno after.
  template <typename Write>
  void change(const SliceSpec& s, PciChange c, Write write, const fs::path& file,
              const std::string& value) {
    const std::uint64_t intent =
        options_.log ? options_.log->intend({DeviceChange::Kind::pci_change, {}, c}) : ++local_id_;
    // Listed before the write: a write whose outcome is unknown is undone too (compare-and-
    // restore makes undoing a change that did not happen harmless).
    result_.changes.push_back({intent, c});
    const int err = write();
    if (options_.log) options_.log->finish(intent, err);
    crash_point("pci change made");
    if (err != 0) {
      result_.changes.pop_back();
      throw pci_write_error(err, c.kind, s.id, c.address, file, value);
    }
  }

  void rollback() noexcept {
    pf_lock_.reset();  // the undo takes PF locks itself
    if (result_.changes.empty()) return;
    PciUndoOptions uo;
    uo.lock_dir = options_.lock_dir;
    uo.log = options_.log;
    uo.own = locked_;
    try {
      (void)undo_pci_changes(host_, result_.changes, uo);
    } catch (...) {
      // A failed put-back stays in the journal for the next cleanup; the start's own error wins.
    }
  }

  const Host& host_;
  PciSysfs pci_;
  bool dry_;
  const SliceEnsureOptions& options_;
  SliceEnsureResult result_;
  std::set<std::string> profile_addresses_;
  std::optional<FileLock> pf_lock_;
  std::set<std::string> locked_;  // functions whose locks result_.locks holds
  std::uint64_t local_id_ = 0;
};

}  // namespace

SliceEnsureResult ensure_slices(const Host& host, const std::vector<SliceSpec>& specs,
                                EnsureMode mode, const SliceEnsureOptions& options) {
  return SliceEnsurer(host, mode, options).run(specs);
}

}  // namespace mdevrun

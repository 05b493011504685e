#include "devices/pci_undo.hpp"

#include <algorithm>
#include <thread>

#include "base/text.hpp"
#include "devices/pci_errors.hpp"
#include "devices/pci_sysfs.hpp"
#include "os/file_lock.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;

fs::path pci_lock_path(const fs::path& lock_dir, const std::string& address) {
  return lock_dir / ("pci-" + address + ".lock");
}

std::optional<FileLock> wait_for_pf_lock(const fs::path& lock_dir, const std::string& pf,
                                         std::chrono::milliseconds timeout) {
  if (lock_dir.empty()) return std::nullopt;
  const auto path = pci_lock_path(lock_dir, pf);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto lock = FileLock::try_lock(path)) return lock;
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(ExitCode::busy, "PF " + pf + " stays locked by another mdevrun (" +
                                      path.string() + ") for " + format_seconds(timeout) +
                                      "; try again");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {
using K = PciChange::Kind;

class Undoer {
 public:
  Undoer(const Host& host, const PciUndoOptions& options) : pci_(host), options_(options) {}

  PciUndoOutcome run(const std::vector<PciChangeRecord>& changes) {
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      const std::uint64_t intent =
          options_.log
              ? options_.log->intend({DeviceChange::Kind::pci_undo, {}, it->change, it->id})
              : 0;
      int err = 0;
      try {
        undo(it->change);
      } catch (const Error& e) {
        err = EIO;
        if (!out_.failure)
          out_.failure = e;
        else
          out_.failure =
              Error(out_.failure->code(), out_.failure->what() + std::string("; ") + e.what());
      }
      if (options_.log) options_.log->finish(intent, err);
    }
    return std::move(out_);
  }

 private:
  void undo(const PciChange& c) {
    if (!pci_.exists(c.address)) return;  // the VF went with its PF, or the device was removed
    switch (c.kind) {
      case K::bind:
        return unbind(c);
      case K::driver_override:
        return restore_override(c);
      case K::unbind:
        return give_back(c);
      case K::numvfs:
        return restore_numvfs(c);
      case K::autoprobe:
        return restore_autoprobe(c);
      case K::vgpu_type:
        return restore_vgpu_type(c);
    }
  }

  void check(int err, const PciChange& c, const fs::path& file, const std::string& value) {
    if (err != 0) throw pci_write_error(err, c.kind, c.slice, c.address, file, value, true);
  }

  void unbind(const PciChange& c) {
    const auto driver = pci_.driver_of(c.address);
    if (driver != c.after) return;  // already unbound, or someone rebound it: theirs now
    check(pci_.unbind(c.address, c.after), c, pci_.driver_file(c.after, "unbind"), c.address);
  }

  void restore_override(const PciChange& c) {
    const auto f = pci_.read(c.address);
    if (!f) return;
    const std::string now = f->driver_override.value_or("");
    if (now != c.after) {
      out_.notes.push_back(c.address + ": driver_override is \"" + now +
                           "\" now, not what mdevrun set: left as it is");
      return;
    }
    check(pci_.write_driver_override(c.address, c.before), c, pci_.override_file(c.address),
          c.before.empty() ? "\n" : c.before);
    out_.done.push_back(c.address + ": driver_override " +
                        (c.before.empty() ? "cleared" : "back to " + c.before));
  }

  void give_back(const PciChange& c) {
    const std::string& driver = c.before;
    const auto now = pci_.driver_of(c.address);
    if (now == driver) return;
    if (now) {
      out_.notes.push_back(c.address + " is bound to " + *now + " now, not to " + driver +
                           " as before mdevrun took it: left as it is");
      return;
    }
    // bind names the driver; drivers_probe is the kernel's own matching, the fallback when the
    // driver refuses a direct bind.
    int err = pci_.driver_loaded(driver) ? pci_.bind(c.address, driver) : ENOENT;
    if (pci_.driver_of(c.address) != driver) {
      const int perr = pci_.probe(c.address);
      if (err == 0) err = perr;
    }
    const auto after = pci_.driver_of(c.address);
    if (after == driver) {
      out_.done.push_back(c.address + " given back to " + driver);
      return;
    }
    throw Error(err == EACCES || err == EPERM ? ExitCode::permission : ExitCode::mdev,
                "cannot give " + c.address + " back to " + driver + " (now " +
                    (after ? "on " + *after : std::string("without a driver")) +
                    (err ? ", " + errno_name(err) : std::string()) +
                    "): is the module loaded? bind it by hand: echo " + c.address + " > " +
                    pci_.driver_file(driver, "bind").string());
  }

  // Whether a VF of the PF is used by anyone but this instance: numvfs 0 would pull it away.
  std::optional<std::string> vf_in_use(const std::string& pf) {
    const auto f = pci_.read(pf);
    if (!f || !f->sriov) return std::nullopt;
    for (const auto& vf : f->sriov->vfs) {
      if (options_.own.count(vf)) continue;
      const auto v = pci_.read(vf);
      if (!v) continue;
      if (!options_.lock_dir.empty()) {
        // Held = another launcher's live lock; a crash's leftover file is taken and dropped.
        const auto path = pci_lock_path(options_.lock_dir, vf);
        std::error_code ec;
        if (fs::exists(path, ec) && !FileLock::try_lock(path))
          return vf + " is held by another mdevrun (" + path.string() + ")";
      }
      if (v->nvidia_vgpu) {
        if (pci_.current_vgpu_type(vf).value_or(0) != 0) return vf + " has a vGPU type set";
      } else if (v->driver) {
        return vf + " is bound to " + *v->driver;
      }
    }
    return std::nullopt;
  }

  void restore_numvfs(const PciChange& c) {
    auto pf_lock = wait_for_pf_lock(options_.lock_dir, c.address, options_.lock_timeout);
    const auto now = pci_.numvfs(c.address);
    if (!now || std::to_string(*now) != c.after) {
      out_.notes.push_back(c.address + ": sriov_numvfs is " +
                           (now ? std::to_string(*now) : std::string("unreadable")) +
                           " now, not the " + c.after + " mdevrun set: left as it is");
      return;
    }
    if (auto used = vf_in_use(c.address)) {
      out_.notes.push_back(c.address + ": left " + c.after + " VFs enabled because " + *used +
                           "; write " + c.before + " to " + pci_.numvfs_file(c.address).string() +
                           " once it is free");
      return;
    }
    check(pci_.write_numvfs(c.address, std::stoi(c.before)), c, pci_.numvfs_file(c.address),
          c.before);
    out_.done.push_back(c.address + ": sriov_numvfs back to " + c.before);
  }

  void restore_autoprobe(const PciChange& c) {
    const auto f = pci_.read(c.address);
    if (!f || !f->sriov || !f->sriov->drivers_autoprobe) return;
    if ((*f->sriov->drivers_autoprobe ? "1" : "0") != c.after) return;
    // Only once the VFs are gone: with VFs still enabled (in use elsewhere) probing is theirs.
    if (f->sriov->numvfs != 0 && c.before == "1") {
      out_.notes.push_back(c.address + ": sriov_drivers_autoprobe left at " + c.after +
                           " while its VFs stay enabled");
      return;
    }
    check(pci_.write_autoprobe(c.address, c.before == "1"), c, pci_.autoprobe_file(c.address),
          c.before);
    out_.done.push_back(c.address + ": sriov_drivers_autoprobe back to " + c.before);
  }

  void restore_vgpu_type(const PciChange& c) {
    const auto now = pci_.current_vgpu_type(c.address);
    if (!now || std::to_string(*now) != c.after) return;
    check(pci_.write_vgpu_type(c.address, std::stoi(c.before)), c, pci_.vgpu_type_file(c.address),
          c.before);
    out_.done.push_back(c.address + ": vGPU type " + c.after + " cleared");
  }

  PciSysfs pci_;
  const PciUndoOptions& options_;
  PciUndoOutcome out_;
};

}  // namespace

PciUndoOutcome undo_pci_changes(const Host& host, const std::vector<PciChangeRecord>& changes,
                                const PciUndoOptions& options) {
  return Undoer(host, options).run(changes);
}

}  // namespace mdevrun

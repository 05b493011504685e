#pragma once
// Putting back what the PCI backends changed, and nothing else: the one procedure behind a failed
// start's rollback, the cleanup at exit and the recovery of a crashed instance. Changes are undone
// newest first by compare-and-restore: a value is restored only while it is still what we set
// (someone else's later change stays, with a note); sriov_numvfs goes back to 0 only when no VF of
// the PF is used by anyone else (another mdevrun's lock, a driver, a vGPU type); a driver we took a
// device from gets it back and is verified to hold it.
//
// Blocking (a PF lock is awaited with a bound). Never throws for a device: the first failure is
// returned, and that change stays on record (through `log`) for the next attempt.

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "devices/change_log.hpp"
#include "devices/pci_change.hpp"
#include "os/file_lock.hpp"
#include "os/host.hpp"

namespace mdevrun {

struct PciUndoOptions {
  /// locks/ of the runtime dir (PF locks while numvfs changes; other launchers' VF locks).
  std::filesystem::path lock_dir;
  /// Functions this instance holds itself: never counted as "in use by someone else".
  std::set<std::string> own;
  /// Each put-back is journaled (DeviceChange::Kind::pci_undo) so it is never repeated.
  ChangeLog* log = nullptr;
  std::chrono::milliseconds lock_timeout{5000};
};

struct PciUndoOutcome {
  std::vector<std::string> notes;  ///< what was left as found, and why: one line each
  std::vector<std::string> done;   ///< what was put back: one line each
  std::optional<Error> failure;    ///< the first put-back that failed (others appended)
};

PciUndoOutcome undo_pci_changes(const Host& host, const std::vector<PciChangeRecord>& changes,
                                const PciUndoOptions& options);

/// locks/pci-<address>.lock
std::filesystem::path pci_lock_path(const std::filesystem::path& lock_dir,
                                    const std::string& address);

/// Takes a PF's lock (pci_lock_path), waiting up to `timeout` for another launcher that is
/// enabling or disabling its VFs. None when `lock_dir` is empty (no locking). Throws Error(busy)
/// naming the PF and the lock file when the wait runs out.
std::optional<FileLock> wait_for_pf_lock(const std::filesystem::path& lock_dir,
                                         const std::string& pf, std::chrono::milliseconds timeout);

}  // namespace mdevrun

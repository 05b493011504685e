#pragma once
// Undoing what one instance changed on the host, and nothing else: the one procedure behind the
// supervisor's cleanup and the recovery of a dead instance (`list`, the next `start`, `stop`).
// What it owns comes from its intent journal; an instance without one (it died before its first
// host change, or was started by an older mdevrun) falls back to its state file's records.
//
// Blocking. Never throws for a device: failures are returned, so the caller keeps the record
// (the instance folder) and says so; throws Error(failure) only when the journal is unreadable.

#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "devices/mdev_record.hpp"
#include "devices/mdev_remove.hpp"
#include "instance/runtime_dir.hpp"
#include "os/host.hpp"

namespace mdevrun {

struct UndoOutcome {
  std::vector<std::string> removed;   ///< UUIDs of the mdevs removed now, in order
  std::vector<std::string> restored;  ///< PCI changes put back now, one line each
  std::vector<std::string> notes;     ///< PCI state left as found (changed by someone else)
  std::optional<Error> failure;       ///< the first removal that failed, the others appended
};

/// Kills every helper (swtpm, virtiofsd) the journal says was started and that still runs (found
/// by the socket its argv names), puts back every PCI change the journal records
/// (devices/pci_undo.hpp), then removes every mdev the journal of `name` says the instance owns
/// (newest first; each removal is journaled, so a failed one stays owned) and unlinks the lock
/// files it took that no one holds. `state_records` are used only when there is no journal.
/// `options.log` is ignored: the instance's own journal records the removals.
UndoOutcome undo_instance_changes(const Host& host, const RuntimeDir& runtime,
                                  const std::string& name,
                                  const std::vector<MdevRecord>& state_records,
                                  RemoveOptions options = {});

}  // namespace mdevrun

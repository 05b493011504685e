#include "instance/instance_undo.hpp"

#include <algorithm>
#include <memory>

#include "devices/pci_undo.hpp"
#include "instance/intent_journal.hpp"
#include "os/file_lock.hpp"
#include "os/process_scan.hpp"

namespace mdevrun {

UndoOutcome undo_instance_changes(const Host& host, const RuntimeDir& runtime,
                                  const std::string& name,
                                  const std::vector<MdevRecord>& state_records,
                                  RemoveOptions options) {
  const auto journal_path = runtime.journal_file(name);
  const std::optional<JournalView> view = read_journal(journal_path);
  std::vector<MdevRecord> owned;
  std::vector<std::string> locked;
  if (view) {
    owned = view->owned;
    locked = view->locked;
  } else {
    for (const auto& m : state_records)
      if (m.created) owned.push_back(m);
  }
  for (const auto& m : state_records)
    if (std::find(locked.begin(), locked.end(), m.uuid) == locked.end()) locked.push_back(m.uuid);

  std::unique_ptr<IntentJournal> journal;
  if (view) journal = std::make_unique<IntentJournal>(journal_path);
  options.log = journal.get();
  UndoOutcome outcome;
  std::string others;
  // Helpers first (qemu is gone by now): one a crash left holds nothing of the host's, but must
  // not outlive its instance. Its argv names its socket, inside this instance's private folder.
  if (view)
    for (const auto& socket : view->helper_sockets)
      if (kill_processes_naming(host.proc, socket.string()) > 0)
        outcome.notes.push_back("stopped a helper left running (" + socket.filename().string() +
                                ")");
  // PCI slices were prepared after the mdevs: put back first (newest first overall).
  if (view && !view->pci_changes.empty()) {
    PciUndoOptions po;
    po.lock_dir = runtime.locks_dir();
    po.own.insert(view->pci_locked.begin(), view->pci_locked.end());
    po.log = journal.get();
    PciUndoOutcome pci = undo_pci_changes(host, view->pci_changes, po);
    outcome.restored = std::move(pci.done);
    outcome.notes = std::move(pci.notes);
    if (pci.failure) outcome.failure = std::move(pci.failure);
  }
  for (auto it = owned.rbegin(); it != owned.rend(); ++it) {
    try {
      if (remove_mdev(host, it->uuid, options)) outcome.removed.push_back(it->uuid);
    } catch (const Error& e) {
      if (!outcome.failure)
        outcome.failure = e;
      else
        others += std::string("; ") + e.what();
    }
  }
  if (outcome.failure && !others.empty())
    outcome.failure = Error(outcome.failure->code(), outcome.failure->what() + others);
  // Lock files a crash left behind: taking and dropping one unlinks it; one a live launcher holds
  // stays. A device whose removal failed keeps its lock file as part of the kept record.
  for (const auto& uuid : locked) {
    if (outcome.failure && std::any_of(owned.begin(), owned.end(),
                                       [&](const MdevRecord& m) { return m.uuid == uuid; }))
      continue;
    std::error_code ec;
    if (std::filesystem::exists(runtime.mdev_lock(uuid), ec)) {
      try {
        FileLock::try_lock(runtime.mdev_lock(uuid));
      } catch (const Error&) {
        // Unreadable or foreign: left for whoever owns it.
      }
    }
  }
  if (view && !outcome.failure) {
    for (const auto& address : view->pci_locked) {
      std::error_code ec;
      const auto path = pci_lock_path(runtime.locks_dir(), address);
      if (!std::filesystem::exists(path, ec)) continue;
      try {
        FileLock::try_lock(path);
      } catch (const Error&) {
      }
    }
  }
  return outcome;
}

}  // namespace mdevrun

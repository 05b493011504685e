#pragma once
// The instance's intent journal (<instance dir>/journal.jsonl): one JSON line per intended host
// change, appended and fsynced before the change, and one per outcome after it. It, not the state
// file, is what says which devices this run owns, so recovery after any crash (a SIGKILL between a
// `create` write and the next save, a damaged state.json) undoes exactly this run's changes, and a
// remove that failed stays on record until it succeeds.
//
// Lines: {"id":N,"intent":"create_mdev","mdev":{...}} and {"id":N,"error":E} (E = 0: done);
// Helpers: {"id":N,"intent":"start_helper","helper":{"name","socket"}} before each spawn.
// PCI changes: {"id":N,"intent":"pci_change","pci":{"kind","slice","address","before","after"}},
// their put-backs {"id":M,"intent":"pci_undo","undoes":N,"pci":{...}}, and lock_pci.
// Several processes of one instance may append (the supervisor, `plug`, `unplug --remove-mdev`):
// each line is one O_APPEND write, and ids carry the writer's pid. A torn last line (a crash in
// the middle of an append) is ignored by read_journal.
//
// Threading: one IntentJournal per thread. Errors: Error(failure) naming the file.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "devices/change_log.hpp"
#include "devices/mdev_record.hpp"
#include "os/unique_fd.hpp"

namespace mdevrun {

class IntentJournal final : public ChangeLog {
 public:
  /// Opens (creating, mode 0600) the journal at `path` for appending.
  explicit IntentJournal(std::filesystem::path path);

  std::uint64_t intend(const DeviceChange& change) override;
  void finish(std::uint64_t id, int error) override;
  /// A helper program (swtpm, virtiofsd) is about to start, serving `socket`: whatever names that
  /// socket in its argv is this instance's, and recovery kills it.
  void intend_helper(const std::string& name, const std::filesystem::path& socket);

  const std::filesystem::path& path() const { return path_; }

 private:
  void append(const std::string& line);

  std::filesystem::path path_;
  UniqueFd fd_;
};

/// What a journal says this instance still owns on the host.
struct JournalView {
  /// Created (the `create` write succeeded, or its outcome was never recorded) and not known to be
  /// removed; in creation order.
  std::vector<MdevRecord> owned;
  std::vector<std::string> locked;  ///< UUIDs whose lock files it took (may be left by a crash)
  /// PCI changes made (or whose outcome is unknown) and not yet put back; in the order made.
  std::vector<PciChangeRecord> pci_changes;
  std::vector<std::string> pci_locked;                ///< PCI addresses whose lock files it took
  std::vector<std::filesystem::path> helper_sockets;  ///< of every helper it started, in order
  bool torn_tail = false;  ///< the last line was incomplete and was ignored
};

/// Reads a journal. None when there is none; throws Error(failure) when it cannot be read. Lines
/// that are not journal entries are skipped (and reported through torn_tail when last).
std::optional<JournalView> read_journal(const std::filesystem::path& path);

}  // namespace mdevrun

#pragma once
// The state file of a running instance (<instance dir>/state.json): who runs it and, above all,
// which mdevs this run created, so that only those are ever removed. Written atomically (temp file
// + rename), so a reader sees the old or the new state, never half of one.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "devices/mdev_record.hpp"
#include "devices/resolved_slice.hpp"

namespace mdevrun {

struct InstanceState {
  std::string name;
  std::filesystem::path profile;        ///< absolute path of the profile file
  std::optional<pid_t> supervisor_pid;  ///< set once the supervisor runs
  std::optional<pid_t> qemu_pid;        ///< set once qemu is spawned
  std::int64_t started_at = 0;          ///< unix seconds
  std::vector<MdevRecord> mdevs;
  std::vector<ResolvedSlice> slices;  ///< PCI slices as prepared (what they changed: the journal)
  std::map<std::string, std::string> sockets;  ///< role ("qmp", "qmp-cli") -> path

  friend bool operator==(const InstanceState&, const InstanceState&) = default;
};

/// Reads a state file. None when it does not exist; throws Error(failure) naming the file when it
/// cannot be read or is not a valid state file.
std::optional<InstanceState> load_state(const std::filesystem::path& path);

/// Writes `state` to `path` atomically (mode 0600): a temp file in the same folder, then rename
/// (no fsync: nothing the state describes survives a power loss; see state_file.cpp).
/// Throws Error(failure) naming the file on failure (and leaves no temp file behind).
void save_state(const std::filesystem::path& path, const InstanceState& state);

}  // namespace mdevrun

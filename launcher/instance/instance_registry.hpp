#pragma once
// Finding instances and their state from another mdevrun process (status, stop, list, ...), and
// cleaning up after a supervisor that died: its qemu, the mdevs it created, its runtime folder.

#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "instance/runtime_dir.hpp"
#include "instance/state_file.hpp"
#include "os/host.hpp"
#include "os/named_profile.hpp"

namespace mdevrun {

/// `arg` is an instance name, or a profile file whose name is used (a path with '/' or ending in
/// ".json"). Throws Error(usage) for a bad profile.
std::string instance_name_from_arg(const std::string& arg);

// Each function finds the runtime directory through `host` (RuntimeDir::of: Error(failure) when
// the host has none) and reads /proc below host.proc.

/// The pid of instance `name`'s qemu: the state's pid while it still is that qemu, or (no state,
/// or no pid in it) the process whose argv names the instance's monitor socket. None when gone.
std::optional<pid_t> instance_qemu_pid(const Host& host, const std::string& name,
                                       const InstanceState* state);

/// True while the instance's qemu (its recorded pid, still running with this instance's monitor
/// in its argv) is alive.
bool instance_qemu_alive(const Host& host, const InstanceState& state);

/// True while a supervisor holds the instance's lock.
bool instance_running(const Host& host, const std::string& name);

/// The state of a running instance. Throws Error(not_found) when none runs under that name (a
/// stale one is cleaned up first and said so in the message).
InstanceState running_instance_state(const Host& host, const std::string& name);

/// If `name` has a runtime folder but no live supervisor: kills its qemu (only if that pid is
/// still the instance's qemu), undoes its host changes (undo_instance_changes), deletes the
/// folder. Returns a one-line description of what was cleaned, or none when there was nothing
/// stale. When a removal fails, throws that Error and keeps the folder as the record.
std::optional<std::string> clean_stale_instance(const Host& host, const std::string& name);

struct InstanceListing {
  std::vector<InstanceState> running;  ///< by name; instances still starting are left out
  std::vector<std::string> cleaned;    ///< what clean_stale_instance did, one line each
  std::vector<Error> failures;         ///< per instance: a cleanup that failed, unreadable state
};

/// Every instance folder: stale ones cleaned up (and said so), the live ones' states.
InstanceListing list_instances(const Host& host);

/// Names of the instances whose supervisor holds its lock, sorted. Read-only (no cleanup, unlike
/// list_instances): cheap enough for shell completion. Empty when the host has no runtime folder.
std::vector<std::string> running_instance_names(const Host& host);

/// One row of `mdevrun list --all`: a profile defined by name (os/named_profile), an instance
/// that runs, or both (the instance was started from that very file).
struct ListedVm {
  std::string name;                     ///< the profile's NAME, else the instance's name
  std::optional<NamedProfile> defined;  ///< the NAME.json found in the config folders
  std::optional<InstanceState> running;
};

/// The defined profiles joined with `running` (list_instances().running), sorted by name. An
/// instance matches a definition when its state names the same file (after symlinks), so a
/// profile whose "name" differs from its file name still shows as running. Never throws.
std::vector<ListedVm> join_defined_and_running(const std::vector<NamedProfile>& defined,
                                               const std::vector<InstanceState>& running);

/// Same as above for a caller that already holds the instance lock (the next `start`).
std::optional<std::string> clean_stale_instance_locked(const Host& host, const std::string& name);

}  // namespace mdevrun

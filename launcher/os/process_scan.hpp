#pragma once
// Finding processes by what their argv names, for recovery: a helper (swtpm, virtiofsd) that a
// dead supervisor left is recognised by the socket path in its argv, a path inside the instance's
// private folder that no other program names. And a probe that a unix socket accepts.
//
// Blocking, bounded. Reads <proc>/<pid>/cmdline; a process that exits while it is read counts as
// gone. Never signals the calling process.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string_view>
#include <vector>

namespace mdevrun {

/// Pids (ascending) of the processes whose argv (NUL-joined cmdline) contains `needle`.
std::vector<pid_t> processes_naming(const std::filesystem::path& proc, std::string_view needle);

/// SIGKILLs every process whose argv contains `needle` and waits up to `bound` until none does.
/// Returns how many were killed.
std::size_t kill_processes_naming(const std::filesystem::path& proc, std::string_view needle,
                                  std::chrono::milliseconds bound = std::chrono::seconds(5));

/// True when a connect(2) to the unix socket at `path` succeeds now (the connection is closed
/// at once).
bool unix_socket_accepts(const std::filesystem::path& path);

}  // namespace mdevrun

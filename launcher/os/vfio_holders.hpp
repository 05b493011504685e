#pragma once
// Which processes hold a device node open (typically qemu holding /dev/vfio/N), found by reading
// the fd links under /proc. Used to name the culprit when removing an mdev blocks or fails.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mdevrun {

struct NodeHolder {
  pid_t pid = 0;
  std::string comm;     ///< /proc/PID/comm, e.g. "qemu-system-x86"
  std::string cmdline;  ///< /proc/PID/cmdline with NULs as spaces, cut to 120 characters
};

/// Processes with an open fd on `node` (compared as the absolute path the kernel shows in
/// /proc/PID/fd, also when the node was deleted since), sorted by pid. Processes whose fd folder
/// cannot be read (permission, exited meanwhile) are skipped. `proc_root` stands for /proc.
std::vector<NodeHolder> find_node_holders(const std::filesystem::path& node,
                                          const std::filesystem::path& proc_root);

/// "pid 123 (qemu-system-x86: qemu-system-x86_64 -name vm ...)", several joined with ", ";
/// "no process" when empty.
std::string describe_holders(const std::vector<NodeHolder>& holders);

}  // namespace mdevrun

#pragma once
// What to tell the user when qemu dies while starting: the known failures of mdev VMs, recognised
// from qemu's own last lines, each with the fix.

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mdevrun {

/// Names the processes holding /dev/vfio/<group> ("pid 1234 (qemu-system-x86)"), or "" if none.
using VfioHolderLookup = std::function<std::string(int group)>;

/// A one-line hint for the first known failure in `qemu_lines`, or none for an unknown failure.
std::optional<std::string> hint_for_qemu_failure(const std::vector<std::string>& qemu_lines,
                                                 const VfioHolderLookup& holders);

}  // namespace mdevrun

#pragma once
// The messages of the PCI backends' failed sysfs writes: each names the slice, the file, the
// kernel's errno and the fix. One place, so ensure, undo and `check` say the same thing.

#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "devices/pci_change.hpp"

namespace mdevrun {

/// The Error for a write of `value` to `file` that failed with `error` (an errno) while making
/// (or, with `undoing`, putting back) a change of `kind`. Exit code: permission for EACCES/EPERM,
/// busy for EBUSY, mdev (the device exit code) otherwise.
Error pci_write_error(int error, PciChange::Kind kind, const std::string& slice,
                      const std::string& address, const std::filesystem::path& file,
                      const std::string& value, bool undoing = false);

}  // namespace mdevrun

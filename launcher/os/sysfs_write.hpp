#pragma once
// Writing and reading sysfs attributes with the errno the kernel returned. sysfs reports failures
// only through errno (EEXIST, ENOSPC, ...), which std::ofstream hides, so every sysfs access goes
// through open(2)/write(2)/read(2) here.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/text.hpp"  // trim: sysfs values end in '\n'

namespace mdevrun {

/// Opens `path` write-only and writes `value` in one write(2), the way the kernel expects an
/// attribute store. Returns 0 on success or the errno of the failing open/write (a short write is
/// reported as EIO). Retries on EINTR only before the write was issued.
int write_sysfs(const std::filesystem::path& path, std::string_view value);

/// Reads a whole attribute (at most 64 KiB). Returns none and sets `*error` (if given) to the errno
/// when it cannot be opened or read.
std::optional<std::string> read_sysfs(const std::filesystem::path& path, int* error = nullptr);

/// The symbolic name of an errno value ("ENOSPC"), or "errno N" for unknown values.
std::string errno_name(int error);

}  // namespace mdevrun

#pragma once
// UUIDs as mdev names: validation, the kernel's lower-case form, and stable derived UUIDs.

#include <optional>
#include <string>
#include <string_view>

namespace mdevrun {

/// True for the 36-character 8-4-4-4-12 hex form (either case), the only form the kernel accepts.
bool is_uuid(std::string_view text);

/// The kernel stores and names mdevs in lower case; returns none when `text` is not a UUID.
std::optional<std::string> normalize_uuid(std::string_view text);

/// RFC 4122 version 5 (SHA-1) UUID of `name` in mdevrun's own namespace. Used for mdevs whose
/// profile gives no UUID: the same profile name and device id always give the same device, so a
/// rerun reuses it instead of leaking a new one.
std::string derive_mdev_uuid(std::string_view profile_name, std::string_view device_id);

}  // namespace mdevrun

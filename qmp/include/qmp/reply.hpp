#pragma once
// Values QEMU sends back: the greeting and command replies. A QEMU error reply is a value here
// (reply::error), never an exception or an error_code. Plain data: copy and move freely.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qmp {

using json = nlohmann::json;

/// QEMU's `{"error": {"class": ..., "desc": ...}}`.
struct qmp_error {
  std::string cls;   ///< e.g. "GenericError", "CommandNotFound", "DeviceNotFound"
  std::string desc;  ///< human-readable description from qemu

  /// "cls: desc", the form the CLI prints.
  std::string to_string() const { return cls + ": " + desc; }
  bool operator==(const qmp_error&) const = default;
};

/// The answer to one command: `value` is the "return" member, or null when `error` is set.
struct reply {
  json value;
  std::optional<qmp_error> error;

  bool ok() const noexcept { return !error.has_value(); }
};

/// The QMP greeting: `{"QMP": {"version": {"qemu": {...}, "package": ...}, "capabilities":
/// [...]}}`.
struct greeting {
  int major = 0;
  int minor = 0;
  int micro = 0;
  std::string package;
  std::vector<std::string> capabilities;
};

}  // namespace qmp

#pragma once
// PCI addresses and ids as sysfs names them: validated before any of them becomes part of a path.
// Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>

namespace mdevrun {

/// "0000:00:02.0" (domain:bus:device.function, lower case); "00:02.0" gets domain 0000 as lspci
/// prints it. None when `text` is not such an address (device > 0x1f or function > 7 included).
std::optional<std::string> normalize_pci_address(std::string text);

/// A vendor:device pair as lspci -nn prints it ("8086:56c0", either case, optional "0x").
struct PciId {
  std::uint16_t vendor = 0;
  std::uint16_t device = 0;
  bool operator==(const PciId&) const = default;
};
std::optional<PciId> parse_pci_id(const std::string& text);
/// "8086:56c0"
std::string to_string(const PciId& id);

/// The value of a sysfs hex attribute such as `vendor` ("0x8086\n"); none when malformed.
std::optional<std::uint32_t> parse_sysfs_hex(const std::string& text);

}  // namespace mdevrun

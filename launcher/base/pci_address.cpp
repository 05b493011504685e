#include "base/pci_address.hpp"

#include <cctype>
#include <cstdio>

namespace mdevrun {
namespace {

bool is_hex_digits(const std::string& s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

std::optional<std::uint16_t> hex16(std::string s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s.substr(2);
  if (s.size() != 4 || !is_hex_digits(s, 0, 4)) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoul(s, nullptr, 16));
}

}  // namespace

std::optional<std::string> normalize_pci_address(std::string s) {
  if (s.size() == 7) s = "0000:" + s;
  if (s.size() != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.') return std::nullopt;
  if (!is_hex_digits(s, 0, 4) || !is_hex_digits(s, 5, 2) || !is_hex_digits(s, 8, 2) ||
      !(s[11] >= '0' && s[11] <= '7'))
    return std::nullopt;
  const int device = std::stoi(s.substr(8, 2), nullptr, 16);
  if (device > 0x1f) return std::nullopt;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<PciId> parse_pci_id(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto v = hex16(text.substr(0, colon));
  auto d = hex16(text.substr(colon + 1));
  if (!v || !d) return std::nullopt;
  return PciId{*v, *d};
}

std::string to_string(const PciId& id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04x:%04x", id.vendor, id.device);
  return buf;
}

std::optional<std::uint32_t> parse_sysfs_hex(const std::string& text) {
  std::string s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s.substr(2);
  if (s.empty() || s.size() > 8 || !is_hex_digits(s, 0, s.size())) return std::nullopt;
  return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16));
}

}  // namespace mdevrun

#include "devices/pci_change.hpp"

#include <iterator>

namespace mdevrun {
namespace {

struct KindName {
  PciChange::Kind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {PciChange::Kind::numvfs, "numvfs"},
    {PciChange::Kind::autoprobe, "autoprobe"},
    {PciChange::Kind::driver_override, "driver_override"},
    {PciChange::Kind::unbind, "unbind"},
    {PciChange::Kind::bind, "bind"},
    {PciChange::Kind::vgpu_type, "vgpu_type"},
};

}  // namespace

const char* to_string(PciChange::Kind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "unknown";
}

bool parse_pci_change_kind(const std::string& text, PciChange::Kind& out) {
  for (const auto& k : kKinds)
    if (text == k.name) {
      out = k.kind;
      return true;
    }
  return false;
}

}  // namespace mdevrun

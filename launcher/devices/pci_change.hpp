#pragma once
// One change the PCI backends make to the host, as the intent journal records it: enough to undo
// exactly that change later, by any process, after any crash. Undo is compare-and-restore: a value
// is put back only while it is still the one we set, so whatever someone else changed since stays.

#include <cstdint>
#include <string>

namespace mdevrun {

struct PciChange {
  enum class Kind {
    numvfs,           ///< <pf>/sriov_numvfs raised from `before` ("0") to `after`
    autoprobe,        ///< <pf>/sriov_drivers_autoprobe from `before` to `after` ("0"/"1")
    driver_override,  ///< <dev>/driver_override from `before` ("" = none) to `after`
    unbind,           ///< <dev> taken from driver `before` (undo: bind it back)
    bind,             ///< <dev> bound to driver `after` by a probe (undo: unbind it)
    vgpu_type,        ///< <vf>/nvidia/current_vgpu_type from `before` ("0") to `after`
  };
  Kind kind = Kind::numvfs;
  std::string slice{};    ///< the profile's slice id, for messages
  std::string address{};  ///< the function written to (the PF for numvfs and autoprobe)
  std::string before{};
  std::string after{};

  friend bool operator==(const PciChange&, const PciChange&) = default;
};

/// "numvfs", "autoprobe", ... as the journal spells them; parse_pci_change_kind is the inverse.
const char* to_string(PciChange::Kind kind);
bool parse_pci_change_kind(const std::string& text, PciChange::Kind& out);

/// A change as read back from a journal: its intent id (what an undo names) and the change.
struct PciChangeRecord {
  std::uint64_t id = 0;
  PciChange change;
};

}  // namespace mdevrun

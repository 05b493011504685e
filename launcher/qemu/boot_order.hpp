#pragma once
// The bootindex mdevrun gives each boot device of a profile: one rule for the qemu argv and for
// the libvirt export's <boot order>, so the two cannot drift apart. Data only, no I/O, no throw.

#include <cstddef>

#include "profile/profile.hpp"

namespace mdevrun {

/// Numbered from 1 in the profile's `boot` order; "disk" covers every disk in turn, "network"
/// is the first NIC only. 0: not a boot device (the firmware's own order applies).
struct BootIndexes {
  int cdrom = 0;
  int first_disk = 0;  ///< disk i gets first_disk + i
  int first_nic = 0;   ///< NIC 0 only

  int disk(std::size_t index) const {
    return first_disk ? first_disk + static_cast<int>(index) : 0;
  }
  int nic(std::size_t index) const { return index == 0 ? first_nic : 0; }
};

BootIndexes boot_indexes(const Profile& profile);

}  // namespace mdevrun

#include "qemu/boot_order.hpp"

namespace mdevrun {

BootIndexes boot_indexes(const Profile& profile) {
  BootIndexes b;
  int next = 1;
  for (const BootDevice d : profile.boot) {
    switch (d) {
      case BootDevice::cdrom:
        b.cdrom = next++;
        break;
      case BootDevice::disk:
        b.first_disk = next;
        next += static_cast<int>(profile.disks.size());
        break;
      case BootDevice::network:
        b.first_nic = next++;
        break;
    }
  }
  return b;
}

}  // namespace mdevrun

#pragma once
// What the device layer tells its caller around every change it makes to the host, so that the
// caller (the instance layer's intent journal) can make the intent durable before the change and
// the outcome after it. A crash at any moment then leaves a record from which exactly this run's
// changes can be undone: a create that was written but never confirmed, a remove that failed.
//
// Contract: intend() returns only once the intent is durable (or throws, and then the change is
// not made); finish() is called once per intend() whose change was attempted, with the errno of
// the attempt (0: it happened). Called from the thread doing the change.

#include <cstdint>

#include "devices/mdev_record.hpp"
#include "devices/pci_change.hpp"

namespace mdevrun {

struct DeviceChange {
  enum class Kind {
    lock_mdev,    ///< taking locks/<uuid>.lock: the file may stay behind after a crash
    create_mdev,  ///< writing the UUID to the type's `create`
    remove_mdev,  ///< writing 1 to the device's `remove`
    lock_pci,     ///< taking locks/pci-<address>.lock (pci.address)
    pci_change,   ///< one write of a PCI backend (pci)
    pci_undo,     ///< putting back the pci_change whose intent id is `undoes`
  };
  Kind kind;
  MdevRecord mdev = {};  ///< mdev kinds: id, uuid, parent, type of the device concerned
  PciChange pci = {};    ///< lock_pci, pci_change, pci_undo (the change being put back)
  std::uint64_t undoes = 0;
};

class ChangeLog {
 public:
  virtual ~ChangeLog() = default;
  /// Records that `change` is about to be made; returns its id for finish().
  virtual std::uint64_t intend(const DeviceChange& change) = 0;
  /// Records the outcome of intent `id`: 0 when the change happened, else the errno.
  virtual void finish(std::uint64_t id, int error) = 0;
};

}  // namespace mdevrun

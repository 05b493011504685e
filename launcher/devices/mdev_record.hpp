#pragma once
// What the device layer reports about one mdev it reused or created, and what the instance layer
// keeps in its state file: the device layer never writes instance state itself, it hands these to
// a caller-supplied recorder (EnsureOptions::record) and takes them back to remove devices.

#include <string>

namespace mdevrun {

struct MdevRecord {
  std::string id;    ///< the profile's device id
  std::string uuid;  ///< lower-case
  std::string parent;
  std::string type;
  bool created = false;  ///< created by this instance: removed at cleanup; otherwise left alone

  friend bool operator==(const MdevRecord&, const MdevRecord&) = default;
};

}  // namespace mdevrun

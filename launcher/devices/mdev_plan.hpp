#pragma once
// Deciding, without writing anything, what ensuring one profile mdev takes: reuse the device that
// has its UUID (if parent and type match) or create it on one of a list of candidate types (the
// named parent's, or every parent offering it with a free instance, in sorted order). Reads sysfs
// through mdev_discovery only. `start` applies a plan (mdev_ensure), a dry run prints its note.
//
// Errors: Error(usage) for bad or shared UUIDs; Error(mdev) for what makes a plan impossible (no
// parent, unknown parent or type with a did-you-mean, no free instance, a device with this UUID
// of another parent or type). Thread-safe (no state).

#include <string>
#include <string_view>
#include <vector>

#include "devices/mdev_discovery.hpp"
#include "devices/resolved_mdev.hpp"
#include "os/host.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// Each spec's UUID, lower-case: its own (validated) or derive_mdev_uuid(profile_name, id).
/// Throws Error(usage) for an invalid UUID or two specs with the same one.
std::vector<std::string> mdev_uuids(std::string_view profile_name,
                                    const std::vector<MdevSpec>& specs);

struct MdevPlan {
  enum class Action { reuse, create };
  Action action = Action::create;
  /// id, uuid, type, sysfs_path; parent and iommu_group of the existing device for reuse; for
  /// create the first candidate's parent. exists/created are the caller's to fill in.
  ResolvedMdev mdev;
  std::vector<MdevType> candidates;  ///< create: types to write `create` of, in order
  bool parent_given = false;         ///< the spec named its parent (no moving on to another)

  /// The dry run's line: "mdev U (type "T" on P) exists: start would reuse it", or "start would
  /// create mdev U of type "T" on P (N free[, parent picked automatically])".
  std::string note() const;
};

/// The plan for `spec` with UUID `uuid` on this host now.
MdevPlan plan_mdev(const Host& host, const MdevSpec& spec, const std::string& uuid);

}  // namespace mdevrun

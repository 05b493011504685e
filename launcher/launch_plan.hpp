#pragma once
// What `start` will do for a profile on this host: which mdevs, which runtime paths, which argv.
// `start --dry-run` prints it; `start` carries it out.

#include <string>
#include <vector>

#include "profile.hpp"
#include "qemu_cmdline.hpp"
#include "resolved_mdev.hpp"

namespace mdevrun {

struct LaunchPlan {
  Profile profile;
  std::vector<ResolvedMdev> mdevs;
  QemuRuntimePaths paths;
  std::vector<std::string> argv;
  std::vector<std::string> notes;  ///< what start would create or miss on this host (dry run)
};

/// Reads the host but changes nothing: resolves the mdevs read-only and builds the argv.
LaunchPlan plan_dry_run(Profile profile);

}  // namespace mdevrun

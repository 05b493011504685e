#pragma once
// What `start` will do for a profile on this host: which mdevs, which runtime paths, which argv.
// `start --dry-run` prints it; `start` carries it out.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "devices/resolved_mdev.hpp"
#include "devices/resolved_slice.hpp"
#include "instance/runtime_dir.hpp"
#include "profile/profile.hpp"
#include "qemu/qemu_cmdline.hpp"

namespace mdevrun {

struct LaunchPlan {
  Profile profile;
  std::vector<ResolvedMdev> mdevs;
  std::vector<ResolvedSlice> slices;
  QemuRuntimePaths paths;
  std::vector<std::string> argv;
  std::vector<std::string> notes;  ///< what start would create or miss on this host (dry run)
};

/// The instance's files that appear on qemu's command line: the same for `start` and the dry run,
/// so the printed argv is the one that runs.
/// Without the profile: the instance's own files only (no helper state).
QemuRuntimePaths qemu_runtime_paths(const RuntimeDir& runtime, const std::string& name);
/// Everything the profile's argv and helpers name, state folders included (Host::profile_state:
/// Error(failure) when a profile with a TPM or secure-boot vars has no state directory).
QemuRuntimePaths qemu_runtime_paths(const Host& host, const Profile& profile);

/// Every unix socket an instance of `profile` listens on or connects to, with what it is for.
std::vector<std::pair<std::string, std::filesystem::path>> instance_sockets(
    const RuntimeDir& runtime, const Profile& profile, const QemuRuntimePaths& paths);
/// Throws Error(usage) naming the first of instance_sockets() that does not fit a sockaddr_un
/// (107 bytes and a NUL): qemu, swtpm and virtiofsd would each fail later with a message that
/// names neither the path nor the fix. `start` checks before it changes anything.
void check_socket_paths(const RuntimeDir& runtime, const Profile& profile,
                        const QemuRuntimePaths& paths);

/// Reads the host but changes nothing: resolves the mdevs read-only, checks the profile's files and
/// builds the argv.
LaunchPlan plan_dry_run(const Host& host, Profile profile);

}  // namespace mdevrun

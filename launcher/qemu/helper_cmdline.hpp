#pragma once
// The command lines of the programs qemu needs beside it: swtpm (a profile's TPM) and one
// virtiofsd per shared folder. Like qemu_cmdline, data only: no I/O, the same profile and paths
// always give the same argv. Each helper serves one unix socket in the instance folder, and its
// argv names that socket: that is how recovery recognises a helper a dead supervisor left (no
// other process of the host has a path inside a private instance folder in its argv).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "profile/profile.hpp"
#include "qemu/qemu_cmdline.hpp"

namespace mdevrun {

/// Debian 12's virtiofsd, the C one from qemu-system-common (not in PATH).
inline constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

struct HelperCommand {
  std::string name;  ///< "swtpm" or "virtiofsd TAG": for messages and the state file
  std::vector<std::string> argv;
  std::filesystem::path socket;  ///< what qemu connects to; appears in argv
  std::filesystem::path log;     ///< stdout and stderr go here (in the instance folder)
  /// Ready when a connect succeeds (swtpm serves one client after another). False: ready when
  /// the socket exists, as a probe would use up virtiofsd's only session (it exits after one).
  bool ready_by_connect = false;
  /// Make this folder read-only for the helper (a read-only bind mount in its own mount
  /// namespace): the C virtiofsd has no read-only option of its own.
  std::optional<std::filesystem::path> read_only;
  /// Folder the helper keeps state in (swtpm): created 0700 before it starts.
  std::optional<std::filesystem::path> state_dir;
};

/// Helpers in start order: swtpm first, then each share's virtiofsd in profile order. Throws
/// Error(usage) when a path would have to go inside one of their option strings with a ','
/// (neither swtpm's nor FUSE's option parser can escape it).
std::vector<HelperCommand> helper_commands(const Profile& profile, const QemuRuntimePaths& paths);

}  // namespace mdevrun

#pragma once
// Profiles by name: `mdevrun start gvtg` reads gvtg.json from the first of Host::config_dirs
// that has it ($XDG_CONFIG_HOME/mdevrun, then /etc/mdevrun). The rule for a PROFILE argument:
//   - it contains '/' or ends in ".json": a path, used as given (relative to the working folder);
//   - otherwise it is a name: validated (is_plain_name: no '/', never "..", 1-64 of
//     [A-Za-z0-9._-]) before it touches a path, then looked up in the config folders; when none
//     has it, a file of that name in the working folder is used, as before profiles had names
//     (so a profile in a config folder wins over ./NAME; write ./NAME to mean the file).
// Trust: a profile decides which host devices and files a VM gets, so a named profile is used
// only when its folder and the file (after symlinks, and the folder the file really lives in)
// are owned by root or the effective user and writable by no one else (require_trusted).
// Files that a profile names (`extends`, disks) are not checked here. The check and the later
// read are two steps: a folder only trusted users can write cannot change in between.
//
// Errors: mdevrun::Error (see each function). Thread-safe (reads the file system only).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "os/host.hpp"

namespace mdevrun {

/// True when `arg` names a profile by name rather than by path (the rule above).
bool is_profile_name(std::string_view arg);

/// The file for a PROFILE argument: a path as given, or the named profile found as below.
std::filesystem::path resolve_profile_arg(const Host& host, const std::string& arg);

/// <dir>/NAME.json in the first of host.config_dirs that has it. Throws Error(usage) for an
/// invalid name, Error(not_found) naming every folder it looked in when none has it, and
/// Error(permission) when the file or its folder fails the trust rule.
std::filesystem::path find_named_profile(const Host& host, std::string_view name);

struct NamedProfile {
  std::string name;            ///< the file name without ".json"
  std::filesystem::path file;  ///< the file an argument NAME resolves to
  std::string problem;         ///< empty, or why NAME would be refused (trust)
};

/// Every NAME.json with a valid name in host.config_dirs, sorted by name; a name in an earlier
/// folder hides the same name in a later one (as find_named_profile picks it). Missing or
/// unreadable folders are skipped. Never throws for a folder's contents.
std::vector<NamedProfile> list_named_profiles(const Host& host);

}  // namespace mdevrun

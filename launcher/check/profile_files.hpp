#pragma once
// The files a profile makes qemu open at start (disks, kernel, initrd, UEFI code and vars), each
// checked the way qemu will open it. `check` reports every one; `start --dry-run` warns about
// the ones start would fail on. Reads the file system, writes nothing.

#include <filesystem>
#include <functional>
#include <vector>

#include "check/check_report.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// May this process open `path` with `mode` (R_OK, W_OK, ...)? See HostView::can_access.
using AccessCheck = std::function<bool(const std::filesystem::path&, int)>;

/// access(2) with the effective ids (faccessat AT_EACCESS): what qemu, run by this user, may do.
bool effective_access(const std::filesystem::path& path, int mode);

/// One result per file, in profile order: disks[i].file, kernel.image, kernel.initrd and, for
/// uefi, firmware.code and firmware.vars-template or firmware.vars (defaults included). Id
/// "file:" + the field's JSON pointer ("file:/disks/0/file"), title the field ("disks[0].file"),
/// detail the absolute path. FAIL when the file does not exist, is a directory, or this user
/// cannot read it, or cannot write it where qemu writes (a disk neither read-only nor snapshot,
/// firmware.vars); each with a one-line fix. PASS otherwise.
std::vector<CheckResult> check_profile_files(const Profile& profile, const AccessCheck& can_access);

}  // namespace mdevrun

#pragma once
// Trust checks for what mdevrun reads back from its runtime directory (state, journal, locks):
// a file that decides which devices get removed must be mdevrun's own. A path passes when it is
// not a symlink, is of the expected kind, is owned by the effective user, and no one else may
// write it. Anything else is refused, never repaired. require_trusted is the looser rule for
// configuration that root may own.
//
// Errors: Error(permission) naming the path and what is wrong. Thread-safe.

#include <filesystem>

namespace mdevrun {

enum class PathKind { directory, regular_file };

/// Throws unless `path` is private to this user as described above. A missing path passes when
/// `missing_ok` (there is nothing to trust or distrust yet), else throws Error(failure).
void require_private(const std::filesystem::path& path, PathKind kind, bool missing_ok = true);

/// The same checks on an open file (fstat: no race between the check and the read). `path` names
/// it in the message. Open such files with O_NOFOLLOW: a symlink then fails the open with ELOOP.
void require_private_fd(int fd, const std::filesystem::path& path, PathKind kind);

/// For what mdevrun reads but another user may legitimately own (profiles in /etc/mdevrun are
/// root's, read by everyone): throws Error(permission) unless `path`, after following symbolic
/// links, is of `kind`, owned by the effective user or by root, and writable by no one else;
/// Error(failure) when it cannot be inspected. Checks the path itself only: callers check the
/// folder that holds it as well.
void require_trusted(const std::filesystem::path& path, PathKind kind);

}  // namespace mdevrun

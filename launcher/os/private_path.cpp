#include "os/private_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.hpp"

namespace mdevrun {

namespace {

void check(const struct stat& st, const std::filesystem::path& path, PathKind kind) {
  const uid_t me = ::geteuid();
  std::string problem;
  if (S_ISLNK(st.st_mode))
    problem = "is a symbolic link";
  else if (kind == PathKind::directory && !S_ISDIR(st.st_mode))
    problem = "is not a directory";
  else if (kind == PathKind::regular_file && !S_ISREG(st.st_mode))
    problem = "is not a regular file";
  else if (st.st_uid != me)
    problem = "is owned by uid " + std::to_string(st.st_uid) + ", not by uid " + std::to_string(me);
  else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    problem = "is writable by other users";
  if (problem.empty()) return;
  throw Error(ExitCode::permission,
              path.string() + " " + problem +
                  ": mdevrun trusts only runtime files of its own user that no one else can "
                  "write; remove it, or point MDEVRUN_RUNTIME_DIR at a private directory");
}

}  // namespace

void require_private(const std::filesystem::path& path, PathKind kind, bool missing_ok) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && missing_ok) return;
    throw Error(ExitCode::failure, "cannot inspect " + path.string() + ": " + std::strerror(errno));
  }
  check(st, path, kind);
}

void require_private_fd(int fd, const std::filesystem::path& path, PathKind kind) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw Error(ExitCode::failure, "cannot inspect " + path.string() + ": " + std::strerror(errno));
  check(st, path, kind);
}

void require_trusted(const std::filesystem::path& path, PathKind kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ExitCode::failure, "cannot inspect " + path.string() + ": " + std::strerror(errno));
  std::string problem;
  if (kind == PathKind::directory && !S_ISDIR(st.st_mode))
    problem = "is not a directory";
  else if (kind == PathKind::regular_file && !S_ISREG(st.st_mode))
    problem = "is not a regular file";
  else if (st.st_uid != ::geteuid() && st.st_uid != 0)
    problem = "is owned by uid " + std::to_string(st.st_uid) + ", neither by root nor by uid " +
              std::to_string(::geteuid());
  else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    problem = "is writable by other users";
  if (problem.empty()) return;
  throw Error(ExitCode::permission,
              path.string() + " " + problem +
                  ": a profile decides which devices and files a VM gets, so mdevrun reads "
                  "profiles only from files and folders that no other user can change; fix "
                  "its owner or mode (chmod go-w)");
}

}  // namespace mdevrun

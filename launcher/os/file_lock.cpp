#include "os/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.hpp"

namespace mdevrun {
namespace {

std::optional<pid_t> parse_pid(const std::string& text) {
  pid_t pid = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) pid = pid * 10 + (text[i] - '0');
  if (i == 0 || pid <= 0) return std::nullopt;
  return pid;
}

std::optional<pid_t> read_pid_fd(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  return parse_pid(std::string(buf, static_cast<std::size_t>(n)));
}

}  // namespace

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& path,
                                           std::optional<pid_t>* holder) {
  // Each round opens the file, locks it, and checks that the locked file is still the one at
  // `path`: a releasing holder unlinks it while locked, so a lock won on an unlinked inode is void.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      throw Error(ExitCode::failure,
                  "cannot open lock file " + path.string() + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        if (holder) *holder = read_pid_fd(fd);
        ::close(fd);
        return std::nullopt;
      }
      ::close(fd);
      throw Error(ExitCode::failure, "cannot lock " + path.string() + ": " + std::strerror(error));
    }
    struct stat locked {
    }, current{};
    if (::fstat(fd, &locked) == 0 && ::stat(path.c_str(), &current) == 0 &&
        locked.st_dev == current.st_dev && locked.st_ino == current.st_ino) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The lock holds without the pid; only the "held by" hint is lost.
      }
      return FileLock(fd, path);
    }
    ::close(fd);  // lost the race with a release: try again on the new file
  }
  throw Error(ExitCode::failure, "cannot lock " + path.string() + ": the file keeps changing");
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  release();
}

void FileLock::release() noexcept {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

std::optional<pid_t> read_lock_holder(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  auto pid = read_pid_fd(fd);
  ::close(fd);
  return pid;
}

}  // namespace mdevrun

#pragma once
// Advisory exclusive locks between mdevrun processes (flock(2) on a file), e.g. one lock per mdev
// UUID so two launchers never drive the same device. The holder writes its pid into the file so a
// loser can say who has it; the holder unlinks the file on release so no lock file stays behind.

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace mdevrun {

class FileLock {
 public:
  /// Takes the lock on `path` without blocking, creating the file (0600) if needed; the parent
  /// directory must exist. Returns none when another open file description holds it and then sets
  /// `*holder` (if given) to the pid recorded in the file, when one is. Throws Error(failure) when
  /// the file cannot be opened or locked for another reason.
  static std::optional<FileLock> try_lock(const std::filesystem::path& path,
                                          std::optional<pid_t>* holder = nullptr);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  ///< release()

  /// Unlinks the lock file (while still holding the lock, so a waiter that opened the old file
  /// notices and retries on a fresh one), then unlocks. Idempotent.
  void release() noexcept;

  bool held() const noexcept { return fd_ >= 0; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  FileLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

/// The pid recorded in a lock file, if the file exists and holds one.
std::optional<pid_t> read_lock_holder(const std::filesystem::path& path);

}  // namespace mdevrun

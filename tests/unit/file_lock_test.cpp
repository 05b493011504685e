#include "os/file_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

TEST(FileLock, OneHolderAtATimeAndTheLoserLearnsItsPid) {
  testing::TempDir dir;
  const fs::path path = dir.path() / "x.lock";
  auto first = FileLock::try_lock(path);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->held());
  EXPECT_EQ(read_lock_holder(path), ::getpid());
  std::optional<pid_t> holder;
  EXPECT_FALSE(FileLock::try_lock(path, &holder));  // another open file description
  EXPECT_EQ(holder, ::getpid());
}

TEST(FileLock, ReleaseRemovesTheFileAndFreesTheLock) {
  testing::TempDir dir;
  const fs::path path = dir.path() / "x.lock";
  {
    auto lock = FileLock::try_lock(path);
    ASSERT_TRUE(lock);
    FileLock moved = std::move(*lock);
    EXPECT_FALSE(lock->held());
    EXPECT_TRUE(moved.held());
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(read_lock_holder(path), std::nullopt);
  auto again = FileLock::try_lock(path);
  ASSERT_TRUE(again);
  again->release();
  again->release();  // idempotent
  EXPECT_FALSE(fs::exists(path));
}

TEST(FileLock, AnotherProcessSeesTheLockAndItsHolder) {
  testing::TempDir dir;
  const fs::path path = dir.path() / "x.lock";
  auto lock = FileLock::try_lock(path);
  ASSERT_TRUE(lock);
  const pid_t child = ::fork();
  if (child == 0) {
    std::optional<pid_t> holder;
    const bool got = FileLock::try_lock(path, &holder).has_value();
    ::_exit(!got && holder == ::getppid() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(FileLock, AMissingFolderIsAnError) {
  testing::TempDir dir;
  try {
    FileLock::try_lock(dir.path() / "nope" / "x.lock");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_EQ(std::string(e.what()), "cannot open lock file " +
                                         (dir.path() / "nope" / "x.lock").string() +
                                         ": No such file or directory");
  }
}

}  // namespace
}  // namespace mdevrun

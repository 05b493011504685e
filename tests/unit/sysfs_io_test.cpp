// The errno-preserving sysfs read/write helpers, on plain files.

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

#include "os/sysfs_write.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

TEST(SysfsWrite, ReturnsTheErrnoInsteadOfHidingIt) {
  testing::TempDir tmp;
  EXPECT_EQ(write_sysfs(tmp.path() / "missing" / "create", "x"), ENOENT);
  EXPECT_EQ(write_sysfs(tmp.path(), "x"), EISDIR);
  std::ofstream(tmp.path() / "attr").flush();
  EXPECT_EQ(write_sysfs(tmp.path() / "attr", "hello"), 0);
  EXPECT_EQ(read_sysfs(tmp.path() / "attr"), "hello");
  int error = 0;
  EXPECT_EQ(read_sysfs(tmp.path() / "nope", &error), std::nullopt);
  EXPECT_EQ(error, ENOENT);
}

TEST(SysfsWrite, TrimsAndNamesErrnos) {
  EXPECT_EQ(trim("  4\n"), "4");
  EXPECT_EQ(trim("\n"), "");
  EXPECT_EQ(errno_name(ENOSPC), "ENOSPC");
  EXPECT_EQ(errno_name(EUSERS), "EUSERS");
  EXPECT_EQ(errno_name(99999), "errno 99999");
}

}  // namespace
}  // namespace mdevrun

// SysfsRoots (the one reader of MDEVRUN_SYSFS_ROOT / MDEVRUN_DEV_ROOT) and the errno-preserving
// sysfs read/write helpers, on plain files.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <fstream>

#include "os/sysfs_roots.hpp"
#include "os/sysfs_write.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

TEST(SysfsRoots, DefaultsToSysAndDevAndHonoursTheEnvironment) {
  ::unsetenv("MDEVRUN_SYSFS_ROOT");
  ::unsetenv("MDEVRUN_DEV_ROOT");
  EXPECT_EQ(SysfsRoots::from_env().sys, "/sys");
  EXPECT_EQ(SysfsRoots::from_env().dev, "/dev");
  ::setenv("MDEVRUN_SYSFS_ROOT", "/tmp/fake/sys", 1);
  ::setenv("MDEVRUN_DEV_ROOT", "", 1);  // empty: ignored
  const auto roots = SysfsRoots::from_env();
  EXPECT_EQ(roots.sys, "/tmp/fake/sys");
  EXPECT_EQ(roots.dev, "/dev");
  EXPECT_EQ(roots.vfio_node(12), "/dev/vfio/12");
  ::unsetenv("MDEVRUN_SYSFS_ROOT");
  ::unsetenv("MDEVRUN_DEV_ROOT");
}

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

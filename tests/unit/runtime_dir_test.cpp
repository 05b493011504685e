#include "instance/runtime_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/error.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(RuntimeDir, NamesEverythingBelowItsParent) {
  const RuntimeDir rt("/run/mdevrun");
  EXPECT_EQ(rt.instance_dir("desk"), "/run/mdevrun/desk");
  EXPECT_EQ(rt.qmp_socket("desk"), "/run/mdevrun/desk/qmp.sock");
  EXPECT_EQ(rt.qmp_cli_socket("desk"), "/run/mdevrun/desk/qmp-cli.sock");
  EXPECT_EQ(rt.monitor_socket("desk"), "/run/mdevrun/desk/monitor.sock");
  EXPECT_EQ(rt.supervisor_log("desk"), "/run/mdevrun/desk/supervisor.log");
  EXPECT_EQ(rt.qemu_log("desk"), "/run/mdevrun/desk/qemu.log");
  EXPECT_EQ(rt.state_file("desk"), "/run/mdevrun/desk/state.json");
  EXPECT_EQ(rt.mdev_lock("4dd50f26-ec08-11e8-b838-4bc3356865b6"),
            "/run/mdevrun/locks/4dd50f26-ec08-11e8-b838-4bc3356865b6.lock");
  EXPECT_EQ(rt.instance_lock("desk"), "/run/mdevrun/locks/instance-desk.lock");
}

TEST(RuntimeDir, OfAHostWithoutOneSaysWhatToSet) {
  try {
    RuntimeDir::of(Host{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_NE(std::string(e.what()).find("XDG_RUNTIME_DIR"), std::string::npos);
  }
  EXPECT_EQ(RuntimeDir::of(Host{.runtime = "/tmp/rt"}).parent(), "/tmp/rt");
}

TEST(RuntimeDir, CreatesPrivateFoldersAndRemovesThem) {
  testing::TempDir tmp;
  const RuntimeDir rt(tmp.path() / "mdevrun");
  const fs::path dir = rt.create_instance_dir("desk");
  EXPECT_EQ(dir, tmp.path() / "mdevrun/desk");
  EXPECT_EQ(mode_of(rt.parent()), 0700u);
  EXPECT_EQ(mode_of(dir), 0700u);
  ::chmod(dir.c_str(), 0755);
  rt.create_instance_dir("desk");  // reused, mode reset
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(rt.ensure_locks_dir(), tmp.path() / "mdevrun/locks");
  EXPECT_EQ(mode_of(rt.locks_dir()), 0700u);
  rt.create_instance_dir("build-vm");
  EXPECT_EQ(rt.list_instances(), (std::vector<std::string>{"build-vm", "desk"}));
  std::ofstream(rt.state_file("desk")) << "{}";
  rt.remove_instance_dir("desk");
  rt.remove_instance_dir("desk");  // already gone: fine
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(rt.list_instances(), (std::vector<std::string>{"build-vm"}));
}

TEST(RuntimeDir, RefusesNamesThatAreNotPlainFolderNames) {
  for (const char* bad : {"", "a/b", "..", ".hidden", "-x", "locks", "a b"}) {
    try {
      check_instance_name(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::usage);
      EXPECT_EQ(std::string(e.what()),
                "invalid instance name \"" + std::string(bad) +
                    "\": use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-', "
                    "and not \"locks\"");
    }
  }
  check_instance_name("gvtg-desktop_2.1");
}

}  // namespace
}  // namespace mdevrun

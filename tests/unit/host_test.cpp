// Host: the one reader of MDEVRUN_SYSFS_ROOT, MDEVRUN_DEV_ROOT, MDEVRUN_PROC_ROOT and the runtime
// directory variables.

#include "os/host.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <string>

namespace mdevrun {
namespace {

// Sets (or, for nullptr, unsets) a variable for one scope, restoring what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Host, DefaultsToTheRealHost) {
  ScopedEnv sys("MDEVRUN_SYSFS_ROOT", nullptr), dev("MDEVRUN_DEV_ROOT", nullptr),
      proc("MDEVRUN_PROC_ROOT", nullptr);
  const Host host = Host::from_env();
  EXPECT_EQ(host.sys, "/sys");
  EXPECT_EQ(host.dev, "/dev");
  EXPECT_EQ(host.proc, "/proc");
  EXPECT_EQ(host.vfio_node(12), "/dev/vfio/12");
}

TEST(Host, HonoursTheEnvironmentAndIgnoresEmptyValues) {
  ScopedEnv sys("MDEVRUN_SYSFS_ROOT", "/tmp/fake/sys"), dev("MDEVRUN_DEV_ROOT", ""),
      proc("MDEVRUN_PROC_ROOT", "/tmp/fake/proc");
  const Host host = Host::from_env();
  EXPECT_EQ(host.sys, "/tmp/fake/sys");
  EXPECT_EQ(host.dev, "/dev");
  EXPECT_EQ(host.proc, "/tmp/fake/proc");
}

TEST(Host, RuntimeDirectoryPrefersMdevrunRuntimeDirThenRootThenXdg) {
  {
    ScopedEnv rt("MDEVRUN_RUNTIME_DIR", "/tmp/rt-test");
    EXPECT_EQ(Host::from_env().runtime_parent(), "/tmp/rt-test");
  }
  ScopedEnv rt("MDEVRUN_RUNTIME_DIR", ""), xdg("XDG_RUNTIME_DIR", "/run/user/1000");
  const Host host = Host::from_env();
  EXPECT_EQ(host.runtime_parent(), ::geteuid() == 0 ? "/run/mdevrun" : "/run/user/1000/mdevrun");
}

TEST(Host, WithoutARuntimeDirectoryOnlyAskingForItFails) {
  ScopedEnv rt("MDEVRUN_RUNTIME_DIR", nullptr), xdg("XDG_RUNTIME_DIR", nullptr);
  const Host host = Host::from_env();  // does not throw: `types` and `check` need no runtime dir
  if (::geteuid() == 0) {
    EXPECT_EQ(host.runtime_parent(), "/run/mdevrun");  // root always has one
  } else {
    EXPECT_FALSE(host.runtime);
    EXPECT_THROW(host.runtime_parent(), std::exception);
  }
  EXPECT_THROW(Host{}.runtime_parent(), std::exception);
}

TEST(Host, ConfigDirsAreTheUsersThenTheSystems) {
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/tmp/cfg"), home("HOME", "/home/u"),
        sys("MDEVRUN_SYSTEM_CONFIG_DIR", nullptr);
    EXPECT_EQ(Host::from_env().config_dirs,
              (std::vector<std::filesystem::path>{"/tmp/cfg/mdevrun", "/etc/mdevrun"}));
  }
  {
    // XDG says a relative XDG_CONFIG_HOME is invalid: fall back to HOME.
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative"), home("HOME", "/home/u"),
        sys("MDEVRUN_SYSTEM_CONFIG_DIR", "/tmp/etc-mdevrun");
    EXPECT_EQ(Host::from_env().config_dirs,
              (std::vector<std::filesystem::path>{"/home/u/.config/mdevrun", "/tmp/etc-mdevrun"}));
  }
  // A system service has neither: only the system folder.
  ScopedEnv xdg("XDG_CONFIG_HOME", nullptr), home("HOME", nullptr),
      sys("MDEVRUN_SYSTEM_CONFIG_DIR", "");
  EXPECT_EQ(Host::from_env().config_dirs, (std::vector<std::filesystem::path>{"/etc/mdevrun"}));
}

TEST(Host, StateDirectoryPrefersMdevrunStateDirThenRootThenXdgThenHome) {
  {
    ScopedEnv st("MDEVRUN_STATE_DIR", "/tmp/st-test");
    EXPECT_EQ(Host::from_env().profile_state("vm"), "/tmp/st-test/vm");
  }
  ScopedEnv st("MDEVRUN_STATE_DIR", ""), xdg("XDG_STATE_HOME", "/home/u/.st"),
      home("HOME", "/home/u");
  EXPECT_EQ(Host::from_env().profile_state("vm"),
            ::geteuid() == 0 ? "/var/lib/mdevrun/vm" : "/home/u/.st/mdevrun/vm");
  ScopedEnv no_xdg("XDG_STATE_HOME", nullptr);
  EXPECT_EQ(Host::from_env().profile_state("vm"),
            ::geteuid() == 0 ? "/var/lib/mdevrun/vm" : "/home/u/.local/state/mdevrun/vm");
  EXPECT_THROW(Host{}.profile_state("vm"), std::exception);
}

}  // namespace
}  // namespace mdevrun

// Profiles by name: the argument rule, the lookup order, the trust rule, the listing.

#include "os/named_profile.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/error.hpp"
#include "instance/instance_registry.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {
namespace fs = std::filesystem;

class NamedProfileTest : public ::testing::Test {
 protected:
  NamedProfileTest() {
    fs::create_directories(user_);
    fs::create_directories(system_);
    host_.config_dirs = {user_, system_};
  }
  fs::path write(const fs::path& dir, const std::string& file) {
    std::ofstream(dir / file) << "{}";
    return dir / file;
  }
  ExitCode code_of(const std::string& name) {
    try {
      find_named_profile(host_, name);
    } catch (const Error& e) {
      message_ = e.what();
      return e.code();
    }
    return ExitCode::ok;
  }

  testing::TempDir tmp_{"named-profile"};
  fs::path user_ = tmp_.path() / "config" / "mdevrun";
  fs::path system_ = tmp_.path() / "etc" / "mdevrun";
  Host host_;
  std::string message_;
};

TEST(NamedProfileRule, APathHasASlashOrEndsInJson) {
  EXPECT_TRUE(is_profile_name("gvtg"));
  EXPECT_TRUE(is_profile_name("gvtg.desktop"));
  EXPECT_FALSE(is_profile_name("gvtg.json"));
  EXPECT_FALSE(is_profile_name("./gvtg"));
  EXPECT_FALSE(is_profile_name("/etc/mdevrun/gvtg"));
  EXPECT_EQ(resolve_profile_arg(Host{}, "dir/vm.json"), "dir/vm.json");
  EXPECT_EQ(resolve_profile_arg(Host{}, "vm.json"), "vm.json");
}

TEST_F(NamedProfileTest, TheUsersFolderComesFirst) {
  write(system_, "vm.json");
  EXPECT_EQ(find_named_profile(host_, "vm"), system_ / "vm.json");
  write(user_, "vm.json");
  EXPECT_EQ(find_named_profile(host_, "vm"), user_ / "vm.json");
  EXPECT_EQ(resolve_profile_arg(host_, "vm"), user_ / "vm.json");
}

TEST_F(NamedProfileTest, NotFoundSaysWhereItLooked) {
  EXPECT_EQ(code_of("nope"), ExitCode::not_found);
  EXPECT_EQ(message_, "no profile named nope: looked for " + (user_ / "nope.json").string() + ", " +
                          (system_ / "nope.json").string() +
                          " and ./nope; create one there or give a path to the file");
  EXPECT_EQ(message_.find('\n'), std::string::npos);
}

// "A path still works as today": `start desk` meant ./desk before profiles had names.
TEST_F(NamedProfileTest, AFileInTheWorkingFolderIsUsedWhenNoConfigFolderHasTheName) {
  const fs::path old = fs::current_path();
  fs::current_path(tmp_.path());
  std::ofstream("legacy") << "{}";
  EXPECT_EQ(resolve_profile_arg(host_, "legacy"), fs::path("legacy"));
  write(user_, "legacy.json");
  EXPECT_EQ(resolve_profile_arg(host_, "legacy"), user_ / "legacy.json") << "a named one wins";
  fs::current_path(old);
}

TEST_F(NamedProfileTest, ANameIsValidatedBeforeItTouchesAPath) {
  write(tmp_.path() / "config", "escape.json");
  for (const char* bad : {"..", ".hidden", "-rf", "a b", "", "x\ny", "..%2f"}) {
    EXPECT_EQ(code_of(bad), ExitCode::usage) << bad;
    EXPECT_NE(message_.find("invalid profile name"), std::string::npos) << message_;
  }
  EXPECT_EQ(code_of(std::string(65, 'a')), ExitCode::usage);
}

TEST_F(NamedProfileTest, AFolderOrFileOthersCanWriteIsRefused) {
  write(user_, "vm.json");
  ::chmod((user_ / "vm.json").c_str(), 0666);
  EXPECT_EQ(code_of("vm"), ExitCode::permission);
  EXPECT_NE(message_.find("vm.json is writable by other users"), std::string::npos) << message_;
  ::chmod((user_ / "vm.json").c_str(), 0644);
  EXPECT_EQ(code_of("vm"), ExitCode::ok);
  ::chmod(user_.c_str(), 0777);
  EXPECT_EQ(code_of("vm"), ExitCode::permission);
  ::chmod(user_.c_str(), 0755);
  // A symlink into a folder anyone can write is judged by where the file really is.
  const fs::path shared = tmp_.path() / "shared";
  fs::create_directories(shared);
  write(shared, "target.json");
  ::chmod(shared.c_str(), 01777);
  fs::create_symlink(shared / "target.json", user_ / "linked.json");
  EXPECT_EQ(code_of("linked"), ExitCode::permission);
}

TEST_F(NamedProfileTest, AFileOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  write(user_, "vm.json");
  ASSERT_EQ(::chown((user_ / "vm.json").c_str(), 4321, 4321), 0);
  EXPECT_EQ(code_of("vm"), ExitCode::permission);
  EXPECT_NE(message_.find("owned by uid 4321"), std::string::npos) << message_;
}

TEST_F(NamedProfileTest, ListingIsSortedAndAnEarlierFolderHidesALaterOne) {
  write(system_, "b.json");
  write(system_, "a.json");
  write(user_, "b.json");
  write(user_, "notes.txt");
  write(user_, ".hidden.json");
  fs::create_directories(user_ / "dir.json");
  ::chmod((system_ / "a.json").c_str(), 0666);
  const auto listed = list_named_profiles(host_);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "a");
  EXPECT_NE(listed[0].problem.find("writable by other users"), std::string::npos);
  EXPECT_EQ(listed[1].name, "b");
  EXPECT_EQ(listed[1].file, user_ / "b.json");
  EXPECT_TRUE(listed[1].problem.empty());
  host_.config_dirs.push_back(tmp_.path() / "missing");
  EXPECT_EQ(list_named_profiles(host_).size(), 2u);
}

TEST_F(NamedProfileTest, ListAllJoinsRunningInstancesByTheirProfileFile) {
  write(user_, "desk.json");
  write(user_, "idle.json");
  InstanceState desk;  // a profile whose "name" differs from its file name
  desk.name = "gvtg-desktop";
  desk.profile = user_ / "desk.json";
  InstanceState adhoc;
  adhoc.name = "adhoc";
  adhoc.profile = tmp_.path() / "adhoc.json";
  const auto rows = join_defined_and_running(list_named_profiles(host_), {desk, adhoc});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "adhoc");
  EXPECT_FALSE(rows[0].defined);
  EXPECT_TRUE(rows[0].running);
  EXPECT_EQ(rows[1].name, "desk");
  ASSERT_TRUE(rows[1].running);
  EXPECT_EQ(rows[1].running->name, "gvtg-desktop");
  EXPECT_EQ(rows[2].name, "idle");
  EXPECT_TRUE(rows[2].defined);
  EXPECT_FALSE(rows[2].running);
}

}  // namespace
}  // namespace mdevrun

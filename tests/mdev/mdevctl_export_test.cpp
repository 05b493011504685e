// `mdevrun export PROFILE --mdevctl` with Debian's mdevctl: run the exported script in a private
// mount namespace with the fake sysfs over /sys and a temp folder over /etc/mdevctl.d, then check
// that mdevctl lists the definition, wrote the file mdevrun describes, and started the device.

#include <gtest/gtest.h>

#include <fstream>

#include "export/mdevctl_export.hpp"
#include "mdev_test_support.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class MdevctlExportTest : public FuseTest {
 protected:
  void SetUp() override {
    FuseTest::SetUp();
    if (HasFatalFailure()) return;
    tmp_.emplace("mdevrun-mdevctl");
    dir_ = tmp_->path();
    // mdevctl insists on its scripts folders, as Debian installs them.
    fs::create_directories(dir_ / "etc" / "scripts.d" / "callouts");
    fs::create_directories(dir_ / "etc" / "scripts.d" / "notifiers");
  }
  void TearDown() override {
    tmp_.reset();
    FuseTest::TearDown();
  }

  // Runs `script` with the fake tree as /sys and dir_/etc as /etc/mdevctl.d; nothing leaks out.
  CommandResult in_namespace(const std::string& script) {
    const fs::path file = dir_ / "inner.sh";
    std::ofstream(file) << "set -e\nmount --bind " << fake().sys().string()
                        << " /sys\nmount --bind " << (dir_ / "etc").string() << " /etc/mdevctl.d\n"
                        << script;
    return run_shell("unshare -m --propagation private sh " + file.string());
  }

  CommandResult export_script(const fs::path& profile, const std::string& flags = "") {
    return run_shell("env MDEVRUN_SYSFS_ROOT=" + fake().sys().string() + " " + MDEVRUN_BIN +
                     " export " + profile.string() + " --mdevctl" + flags);
  }

  std::optional<TempDir> tmp_;
  fs::path dir_;
};

TEST_F(MdevctlExportTest, MdevctlDefinesAndStartsTheExportedMdev) {
  ASSERT_EQ(run_shell("command -v mdevctl unshare").exit_code, 0)
      << "mdevctl (Debian package mdevctl) and unshare are needed: run scripts/deps";
  mount(kernel_like_config());
  const fs::path profile = dir_ / "desk.json";
  std::ofstream(profile) << R"({"name": "desk", "mdevs": [{"id": "gpu0", "type": "i915-GVTg_V4_4",
    "uuid": ")" << kUuid1 << R"(", "display": true}], "display": {"gl": true}})";
  const auto script = export_script(profile);
  ASSERT_EQ(script.exit_code, 0) << script.out;
  EXPECT_EQ(script.out,
            std::string("#!/bin/sh\n# mdevctl definitions for the profile's mdevs (run as root)\n"
                        "set -e\n# /etc/mdevctl.d/0000:00:02.0/") +
                kUuid1 +
                ": {\"attrs\":[],\"mdev_type\":\"i915-GVTg_V4_4\",\"start\":\"auto\"}\n"
                "mdevctl define --uuid " +
                kUuid1 +
                " --parent 0000:00:02.0 --type i915-GVTg_V4_4 --auto\nmdevctl start --uuid " +
                kUuid1 + "\n");

  const auto listed = in_namespace(script.out + "\nmdevctl list --defined --dumpjson\n");
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  const auto begin = listed.out.find('[');
  ASSERT_NE(begin, std::string::npos) << listed.out;
  // [{"<parent>": [{"<uuid>": {"mdev_type", "start", ...}}]}]
  const json dump = json::parse(listed.out.substr(begin));
  ASSERT_EQ(dump.size(), 1u) << dump.dump();
  const json& defined = dump[0].at("0000:00:02.0").at(0).at(kUuid1);
  EXPECT_EQ(defined.at("mdev_type"), "i915-GVTg_V4_4");
  EXPECT_EQ(defined.at("start"), "auto");

  // mdevctl wrote exactly the file mdevrun describes.
  std::ifstream file(dir_ / "etc" / "0000:00:02.0" / kUuid1);
  ASSERT_TRUE(file) << "no definition file";
  ResolvedMdev m;
  m.parent = "0000:00:02.0";
  m.uuid = kUuid1;
  m.type = "i915-GVTg_V4_4";
  EXPECT_EQ(json::parse(file), mdevctl_definition(m, true));
  EXPECT_EQ(mdevctl_definition_path(m), std::string("/etc/mdevctl.d/0000:00:02.0/") + kUuid1);

  // `mdevctl start` created the device through the fake sysfs.
  EXPECT_TRUE(fs::exists(fake().sys() / "bus" / "mdev" / "devices" / kUuid1));
}

TEST_F(MdevctlExportTest, ManualStartAndAParentPickedLikeStart) {
  mount(kernel_like_config());
  const fs::path profile = dir_ / "compute.json";
  std::ofstream(profile) << R"({"name": "compute", "mdevs": [{"id": "tty", "type": "mtty-2"}]})";
  const auto script = export_script(profile, " --manual");
  ASSERT_EQ(script.exit_code, 0) << script.out;
  EXPECT_NE(script.out.find("--parent mtty --type mtty-2\n"), std::string::npos) << script.out;
  EXPECT_NE(script.out.find("\"start\":\"manual\""), std::string::npos) << script.out;

  std::ofstream(profile) << R"({"name": "compute", "mdevs": [{"id": "tty", "type": "nope-1"}]})";
  EXPECT_EQ(export_script(profile, " 2>/dev/null").exit_code, 2);
}

}  // namespace
}  // namespace mdevrun::testing

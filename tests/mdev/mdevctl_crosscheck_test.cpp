// Cross-check with mdevctl (Debian's 1.2.0 reads /sys only): run it inside a private mount
// namespace with the fake sysfs bind-mounted over /sys, and compare what it sees with what
// `mdevrun types --json` sees on the same tree.

#include <gtest/gtest.h>

#include <map>

#include "devices/mdev_ensure.hpp"
#include "mdev_test_support.hpp"

namespace mdevrun::testing {
namespace {

using nlohmann::json;

// (parent, type) -> {available_instances, device_api, name?, description?}
using TypeMap = std::map<std::pair<std::string, std::string>, json>;

TypeMap from_mdevctl(const json& dump) {
  // [{"<parent>": [{"<type>": {"available_instances", "device_api", "name"?, "description"?}}]}]
  TypeMap out;
  for (const auto& parent : dump)
    for (const auto& [parent_name, types] : parent.items())
      for (const auto& type : types)
        for (const auto& [type_name, attrs] : type.items()) out[{parent_name, type_name}] = attrs;
  return out;
}

TypeMap from_mdevrun(const json& list) {
  TypeMap out;
  for (const auto& t : list) {
    json attrs = {{"available_instances", t["available_instances"]},
                  {"device_api", t["device_api"]}};
    if (!t["name"].is_null()) attrs["name"] = t["name"];
    if (!t["description"].is_null()) attrs["description"] = t["description"];
    out[{t["parent"].get<std::string>(), t["type"].get<std::string>()}] = attrs;
  }
  return out;
}

class MdevctlCrossCheckTest : public FuseTest {
 protected:
  // mdevctl ARGS with the fake tree as /sys, in a mount namespace of its own (nothing leaks out).
  CommandResult mdevctl(const std::string& args) {
    return run_shell("unshare -m --propagation private sh -c 'mount --bind " +
                     fake().sys().string() + " /sys && exec mdevctl " + args + "'");
  }
};

TEST_F(MdevctlCrossCheckTest, TypesAgreeWithMdevctl) {
  ASSERT_EQ(run_shell("command -v mdevctl unshare").exit_code, 0)
      << "mdevctl (Debian package mdevctl) and unshare are needed: run scripts/deps";
  auto config = kernel_like_config();
  config["devices"] = {{{"uuid", kUuid1}, {"parent", "mbochs"}, {"type", "mbochs-3"}}};
  mount(config);
  const auto theirs = mdevctl("types --dumpjson");
  ASSERT_EQ(theirs.exit_code, 0) << theirs.out;
  const auto ours = run_shell("env MDEVRUN_SYSFS_ROOT=" + fake().sys().string() + " " +
                              MDEVRUN_BIN + " types --json");
  ASSERT_EQ(ours.exit_code, 0);
  const TypeMap expected = from_mdevctl(json::parse(theirs.out));
  EXPECT_EQ(expected.size(), 12u);  // mdevctl really read the fake tree
  EXPECT_EQ(from_mdevrun(json::parse(ours.out)), expected);
  EXPECT_EQ(expected.at({"mbochs", "mbochs-1"})["available_instances"], 48);
}

TEST_F(MdevctlCrossCheckTest, MdevctlSeesTheDevicesEnsureCreated) {
  ASSERT_EQ(run_shell("command -v mdevctl unshare").exit_code, 0);
  mount(kernel_like_config());
  MdevSpec gpu;
  gpu.id = "gpu0";
  gpu.type = "i915-GVTg_V4_4";
  gpu.uuid = kUuid1;
  const auto result = ensure_mdevs(fake().host(), "desk", {gpu}, EnsureMode::create);
  const auto listed = mdevctl("list --dumpjson");
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  const json dump = json::parse(listed.out);
  // [{"<parent>": [{"<uuid>": {"mdev_type": "<type>", ...}}]}]
  ASSERT_EQ(dump.size(), 1u);
  const json& devices = dump[0].at("0000:00:02.0");
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].at(kUuid1).at("mdev_type"), "i915-GVTg_V4_4");
}

}  // namespace
}  // namespace mdevrun::testing

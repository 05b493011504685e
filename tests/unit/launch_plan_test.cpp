#include "instance/launch_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace mdevrun {
namespace {

using ::testing::HasSubstr;

// A runtime parent of `length` bytes ("/" and 'r's): what MDEVRUN_RUNTIME_DIR would be.
RuntimeDir runtime_of_length(std::size_t length) {
  return RuntimeDir("/" + std::string(length - 1, 'r'));
}

Profile profile_named(const std::string& name) {
  Profile p;
  p.name = name;
  return p;
}

TEST(SocketPaths, NamesWhatAProfileUsesOnly) {
  const RuntimeDir rt("/run/mdevrun");
  Profile p = profile_named("desk");
  p.serial.mode = SerialMode::file;
  const auto plain = instance_sockets(rt, p, qemu_runtime_paths(rt, p.name));
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].second, "/run/mdevrun/desk/monitor.sock");

  p.serial.mode = SerialMode::console;
  p.display.backend = DisplayBackend::spice;
  p.tpm = TpmSpec{};
  p.shares.push_back({"/src", "workspace", false});
  const auto all = instance_sockets(rt, p, qemu_runtime_paths(rt, p.name));
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all.back().second, "/run/mdevrun/desk/virtiofs-workspace.sock");
}

TEST(SocketPaths, APathOf107BytesFitsAndOneOf108IsRefusedBeforeStart) {
  Profile p = profile_named("desk");
  p.shares.push_back({"/src", "workspace", false});
  // The share socket is the longest: parent + "/desk/virtiofs-workspace.sock" (29 bytes).
  const RuntimeDir fits = runtime_of_length(107 - 29);
  EXPECT_NO_THROW(check_socket_paths(fits, p, qemu_runtime_paths(fits, p.name)));

  const RuntimeDir too_long = runtime_of_length(108 - 29);
  try {
    check_socket_paths(too_long, p, qemu_runtime_paths(too_long, p.name));
    FAIL() << "a 108-byte socket path was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    const std::string expected_path = too_long.parent().string() + "/desk/virtiofs-workspace.sock";
    EXPECT_THAT(e.what(), HasSubstr("the socket of share workspace " + expected_path + " is 108"));
    EXPECT_THAT(e.what(), HasSubstr("MDEVRUN_RUNTIME_DIR"));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  // Without the share, the same folder is fine: only sockets the profile uses count.
  p.shares.clear();
  EXPECT_NO_THROW(check_socket_paths(too_long, p, qemu_runtime_paths(too_long, p.name)));
}

}  // namespace
}  // namespace mdevrun

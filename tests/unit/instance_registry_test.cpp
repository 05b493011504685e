#include "instance/instance_registry.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

// A process that exits between our open and read of its /proc/<pid>/cmdline makes read() fail
// (ESRCH). A directory in its place makes read() fail the same way, deterministically. The scan
// must treat it as "not our qemu", never throw.
TEST(InstanceRegistry, AnUnreadableCmdlineIsNotTheInstancesQemu) {
  testing::TempDir root;
  Host host;
  host.proc = root.path() / "proc";
  host.runtime = root.path() / "run";
  fs::create_directories(host.proc / "4242" / "cmdline");
  const std::string socket = RuntimeDir::of(host).qmp_socket("desk").string();
  fs::create_directories(host.proc / "77");
  std::ofstream(host.proc / "77" / "cmdline") << std::string("qemu\0-qmp\0unix:", 15) << socket;

  InstanceState state;
  state.name = "desk";
  state.qemu_pid = 4242;
  EXPECT_FALSE(instance_qemu_alive(host, state));
  EXPECT_EQ(instance_qemu_pid(host, "desk", &state), std::nullopt);
  EXPECT_EQ(instance_qemu_pid(host, "desk", nullptr), 77);
}

}  // namespace
}  // namespace mdevrun

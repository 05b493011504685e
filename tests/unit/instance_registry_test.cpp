#include "instance/instance_registry.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "os/file_lock.hpp"
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

// A qemu between two execs (a wrapper script exec'ing qemu) shows an empty cmdline for a moment:
// its recorded pid is read again instead of being taken for gone (a stop during start then
// waited 30 s for a supervisor that was still starting it). A zombie's empty cmdline is gone.
TEST(InstanceRegistry, AnEmptyCmdlineOfALiveProcessIsReadAgainAndAZombiesIsGone) {
  testing::TempDir root;
  Host host;
  host.proc = root.path() / "proc";
  host.runtime = root.path() / "run";
  const std::string socket = RuntimeDir::of(host).qmp_socket("desk").string();
  for (const char* pid : {"501", "502"}) {
    fs::create_directories(host.proc / pid);
    std::ofstream(host.proc / pid / "cmdline");
  }
  std::ofstream(host.proc / "501" / "stat") << "501 (qemu never ) R) R 1 501 501 0";
  std::ofstream(host.proc / "502" / "stat") << "502 (qemu) Z 1 502 502 0";
  std::thread exec_done([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::ofstream(host.proc / "501" / "cmdline.new")
        << std::string("qemu\0-qmp\0unix:", 15) << socket;
    fs::rename(host.proc / "501" / "cmdline.new", host.proc / "501" / "cmdline");
  });
  InstanceState state;
  state.name = "desk";
  state.qemu_pid = 501;
  EXPECT_TRUE(instance_qemu_alive(host, state));
  exec_done.join();
  state.qemu_pid = 502;
  EXPECT_FALSE(instance_qemu_alive(host, state));
}

// A supervisor SIGKILLed while a child it forked still runs (a bounded sysfs writer, a qemu between
// fork and exec) leaves its instance lock held by that child for a moment. The `list` right after
// the kill must wait for it and clean up, not take the dead instance for a live one.
TEST(InstanceRegistry, ALockHeldOnlyByADeadSupervisorsChildIsWaitedFor) {
  testing::TempDir root;
  Host host;
  host.runtime = root.path() / "run";
  const RuntimeDir runtime = RuntimeDir::of(host);
  runtime.create_instance_dir("desk");
  runtime.ensure_locks_dir();
  const pid_t supervisor = ::fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    // _exit everywhere: no destructor unlinks or unlocks; both processes share the locked
    // descriptor and the child keeps it for 300 ms after its parent is gone.
    auto lock = FileLock::try_lock(runtime.instance_lock("desk"));
    if (!lock) ::_exit(1);
    const pid_t child = ::fork();
    if (child == 0) ::usleep(300000);
    ::_exit(child < 0 ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(supervisor, &status, 0), supervisor);
  ASSERT_EQ(status, 0);
  std::optional<pid_t> holder;
  ASSERT_FALSE(FileLock::try_lock(runtime.instance_lock("desk"), &holder)) << "the child holds it";
  EXPECT_EQ(holder, supervisor);

  const InstanceListing listing = list_instances(host);
  ASSERT_EQ(listing.cleaned.size(), 1u);
  EXPECT_NE(listing.cleaned[0].find("cleaned up instance desk"), std::string::npos);
  EXPECT_TRUE(listing.running.empty());
  EXPECT_FALSE(fs::exists(runtime.instance_dir("desk")));
}

}  // namespace
}  // namespace mdevrun

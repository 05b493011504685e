#include "os/vfio_holders.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

TEST(VfioHolders, FindsThisProcessHoldingANodeInTheRealProc) {
  testing::TempDir tmp;
  const fs::path node = tmp.path() / "12";
  std::ofstream(node).flush();
  const int fd = ::open(node.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const auto holders = find_node_holders(node, "/proc");
  ::close(fd);
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0].pid, ::getpid());
  EXPECT_FALSE(holders[0].comm.empty());
  EXPECT_TRUE(find_node_holders(node, "/proc").empty());
}

TEST(VfioHolders, ReadsAFakeProcAndDescribesTheHolders) {
  testing::TempDir proc;
  const auto process = [&](const std::string& pid, const std::string& comm,
                           const std::string& cmdline, const std::string& fd_target) {
    fs::create_directories(proc.path() / pid / "fd");
    std::ofstream(proc.path() / pid / "comm") << comm << "\n";
    std::ofstream(proc.path() / pid / "cmdline") << cmdline;
    fs::create_symlink(fd_target, proc.path() / pid / "fd" / "7");
  };
  process("4321", "qemu-system-x86", std::string("qemu-system-x86_64\0-name\0desk\0", 30),
          "/dev/vfio/12");
  process("77", "old-qemu", std::string("qemu\0", 5), "/dev/vfio/12 (deleted)");
  process("88", "bash", std::string("bash\0", 5), "/dev/vfio/13");
  fs::create_directories(proc.path() / "self");  // not a pid: skipped
  const auto holders = find_node_holders("/dev/vfio/12", proc.path());
  ASSERT_EQ(holders.size(), 2u);
  EXPECT_EQ(describe_holders(holders),
            "pid 77 (old-qemu: qemu), pid 4321 (qemu-system-x86: qemu-system-x86_64 -name desk)");
  EXPECT_EQ(describe_holders({}), "no process");
}

}  // namespace
}  // namespace mdevrun

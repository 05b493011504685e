#include "os/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace mdevrun {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_all(UniqueFd& fd) {
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) out.append(buf, n);
  return out;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

TEST(Process, SpawnFindsThePathAndPipesBothOutputs) {
  ChildOptions o;
  o.output = ChildOptions::Output::pipe;
  Child c = spawn({"sh", "-c", "echo out; echo err >&2; exit 3"}, o);
  EXPECT_EQ(read_all(c.output()), "out\nerr\n");
  EXPECT_EQ(c.wait_until(Clock::now() + 5s), 3);
  EXPECT_EQ(c.try_wait(), 3);  // the status stays
}

TEST(Process, PipeStdoutLeavesStderrAlone) {
  ChildOptions o;
  o.output = ChildOptions::Output::pipe_stdout;
  Child c = spawn({"sh", "-c", "echo out; echo err >&2"}, o);
  EXPECT_EQ(read_all(c.output()), "out\n");
  EXPECT_EQ(c.wait_until(Clock::now() + 5s), 0);
}

TEST(Process, FindInPathIsExecvpsLookup) {
  EXPECT_EQ(find_in_path("/no/such/prog"), "/no/such/prog");  // a path is taken as given
  const std::string sh = find_in_path("sh");
  EXPECT_FALSE(sh.empty());
  EXPECT_EQ(::access(sh.c_str(), X_OK), 0);
  EXPECT_EQ(find_in_path("mdevrun-no-such-program"), "");
}

TEST(Process, ExecFailuresAreReportedWithTheirErrno) {
  try {
    spawn({"mdevrun-no-such-program"});
    FAIL() << "no error";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.error, ENOENT);
  }
  try {
    spawn({"/dev/null"});  // exists, not executable: execve fails in the child
    FAIL() << "no error";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.error, EACCES);
    EXPECT_NE(std::string(e.what()).find("/dev/null"), std::string::npos) << e.what();
  }
}

TEST(Process, WaitHasADeadlineAndKillReaps) {
  Child c = spawn({"sleep", "30"});
  const auto start = Clock::now();
  EXPECT_EQ(c.wait_until(start + 100ms), std::nullopt);
  EXPECT_GE(Clock::now() - start, 100ms);
  EXPECT_EQ(c.kill_and_reap(), 128 + SIGKILL);
}

// Regression: a defaulted move left the moved-from Child owning the pid, and its destructor killed
// the child that had just been handed over.
TEST(Process, AMovedChildKeepsRunningAndTheLastOwnerKillsIt) {
  pid_t pid;
  {
    Child outer;
    {
      Child inner = spawn({"sleep", "30"});
      pid = inner.pid();
      outer = std::move(inner);
    }
    EXPECT_EQ(outer.pid(), pid);
    EXPECT_EQ(outer.try_wait(), std::nullopt);  // still running after `inner` went away
  }
  EXPECT_FALSE(alive(pid));  // and reaped: not even a zombie
}

TEST(Process, ReleasedChildOutlivesItsHandle) {
  pid_t pid;
  {
    Child c = spawn({"sleep", "30"});
    pid = c.pid();
    c.release();
  }
  EXPECT_TRUE(alive(pid));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(Process, ForkCallExitsWithTheBodysValue) {
  Child c = fork_call([] { return 42; });
  EXPECT_EQ(c.wait_until(Clock::now() + 5s), 42);
  Child thrower = fork_call([]() -> int { throw std::runtime_error("x"); });
  EXPECT_EQ(thrower.wait_until(Clock::now() + 5s), 70);  // never unwinds into our frames
}

// A held flock lives as long as any copy of its descriptor: a writer child that keeps one keeps
// the instance looking alive after the supervisor died.
TEST(Process, ForkCallCanDropEveryInheritedDescriptor) {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 3);
  auto still_open = [fd] { return ::fcntl(fd, F_GETFD) != -1 ? 1 : 0; };
  EXPECT_EQ(fork_call(still_open).wait_until(Clock::now() + 5s), 1);
  ChildOptions closed;
  closed.close_inherited_fds = true;
  EXPECT_EQ(fork_call(still_open, closed).wait_until(Clock::now() + 5s), 0);
  ::close(fd);
}

TEST(Process, ChildrenGetADefaultSigpipeAndAnEmptySignalMask) {
  ::signal(SIGPIPE, SIG_IGN);
  ChildOptions o;
  o.output = ChildOptions::Output::pipe;
  Child c = spawn({"sh", "-c", "grep -E '^(SigBlk|SigIgn)' /proc/self/status"}, o);
  const std::string out = read_all(c.output());
  ::signal(SIGPIPE, SIG_DFL);
  EXPECT_NE(out.find("SigBlk:\t0000000000000000"), std::string::npos) << out;
  // SIGPIPE is signal 13: bit 12 of the ignored set must be clear.
  const auto ign = std::stoull(out.substr(out.find("SigIgn:\t") + 8, 16), nullptr, 16);
  EXPECT_EQ(ign & (1ull << 12), 0u) << out;
  c.wait_until(Clock::now() + 5s);
}

// The detached supervisor is a fork_call body: it must keep SIGPIPE ignored, or a front end that
// goes away before the ready report kills it on its write (the guarantee issue's defect 4).
TEST(Process, ForkCallKeepsSigpipeIgnored) {
  ::signal(SIGPIPE, SIG_IGN);
  Child c = fork_call([] {
    struct sigaction now {};
    ::sigaction(SIGPIPE, nullptr, &now);
    return now.sa_handler == SIG_IGN ? 0 : 1;
  });
  ::signal(SIGPIPE, SIG_DFL);
  EXPECT_EQ(c.wait_until(Clock::now() + 5s), 0);
}

}  // namespace
}  // namespace mdevrun

#include "os/crash_point.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mdevrun {
namespace {

struct CrashConfig {
  long at = 0;  // 0: never
  std::string log;
};

const CrashConfig& config() {
  static const CrashConfig c = [] {
    CrashConfig c;
    if (const char* at = std::getenv("MDEVRUN_TEST_CRASH_AT")) c.at = std::strtol(at, nullptr, 10);
    if (const char* log = std::getenv("MDEVRUN_TEST_CRASH_LOG")) c.log = log;
    return c;
  }();
  return c;
}

std::atomic<long> calls{0};

}  // namespace

void crash_point(const char* step) noexcept {
  const CrashConfig& c = config();
  if (c.at <= 0 && c.log.empty()) return;
  const long n = ++calls;
  if (!c.log.empty()) {
    const int fd = ::open(c.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const std::string line = std::to_string(::getpid()) + " " + std::to_string(n) + " " + step +
                               (n == c.at ? " KILL\n" : "\n");
      [[maybe_unused]] const ssize_t w = ::write(fd, line.data(), line.size());
      ::close(fd);
    }
  }
  if (n == c.at) ::kill(::getpid(), SIGKILL);
}

}  // namespace mdevrun

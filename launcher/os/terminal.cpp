#include "os/terminal.hpp"

#include <unistd.h>

#include <csignal>
#include <iterator>

namespace mdevrun {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// What the signal handler restores: written before the handlers are installed.
volatile sig_atomic_t g_fd = -1;
termios g_saved{};
struct sigaction g_previous[3];

extern "C" void restore_and_reraise(int sig) {
  if (g_fd >= 0) ::tcsetattr(g_fd, TCSANOW, &g_saved);
  // SA_RESETHAND made the action the default again; the signal is blocked until we return, and
  // then it ends the process as it would have without us.
  ::raise(sig);
}

}  // namespace

RawTerminal::RawTerminal(int fd, Options options) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  if (options.keep_signals) {
    raw.c_lflag |= ISIG;
    raw.c_oflag |= OPOST;
  }
  if (options.restore_on_signals) {
    g_saved = saved_;
    g_fd = fd;
    struct sigaction sa {};
    sa.sa_handler = restore_and_reraise;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &sa, &g_previous[i]);
    handlers_ = true;
  }
  active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  if (handlers_) {
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &g_previous[i], nullptr);
    g_fd = -1;
  }
}

}  // namespace mdevrun

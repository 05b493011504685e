#include "qemu_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <iostream>

#include <boost/asio/read.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/search_path.hpp>

#include "error.hpp"

namespace mdevrun {
namespace bp = boost::process;
namespace asio = boost::asio;

namespace {
constexpr std::size_t kKeptLines = 40;

// Runs in the child between fork and exec.
struct ChildSetup : bp::extend::handler {
  template <typename Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Our own signal handling (SIGINT/SIGTERM -> orderly stop) must not reach qemu directly.
    ::setpgid(0, 0);
  }
};
}  // namespace

struct QemuProcess::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& ioc) : pipe(ioc) {}

  bp::async_pipe pipe;
  bp::child child;
  int log_fd = -1;
  bool echo = false;
  std::array<char, 4096> buf{};
  std::string partial;
  std::deque<std::string> lines;
  bool exited = false;
  bool drained = false;
  int status = 0;
  std::function<void(int)> handler;

  void read() {
    pipe.async_read_some(asio::buffer(buf), [self = shared_from_this()](auto ec, std::size_t n) {
      if (n > 0) self->consume(n);
      if (ec) {
        self->drained = true;
        self->maybe_done();
        return;
      }
      self->read();
    });
  }

  void consume(std::size_t n) {
    if (log_fd >= 0) [[maybe_unused]]
      auto w = ::write(log_fd, buf.data(), n);
    if (echo) std::cerr.write(buf.data(), static_cast<std::streamsize>(n)).flush();
    partial.append(buf.data(), n);
    for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
      lines.push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
      if (lines.size() > kKeptLines) lines.pop_front();
    }
    if (partial.size() > 4096) partial.erase(0, partial.size() - 4096);
  }

  void maybe_done() {
    if (!exited || !drained || !handler) return;
    if (!partial.empty()) {
      lines.push_back(partial);
      partial.clear();
    }
    auto h = std::move(handler);
    handler = nullptr;
    h(status);
  }
};

QemuProcess::QemuProcess(asio::io_context& ioc, const std::vector<std::string>& argv,
                         const std::filesystem::path& log_file, bool echo_to_stderr)
    : impl_(std::make_shared<Impl>(ioc)) {
  impl_->echo = echo_to_stderr;
  impl_->log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  boost::filesystem::path exe = argv.at(0);
  if (argv[0].find('/') == std::string::npos) exe = bp::search_path(argv[0]);
  if (exe.empty())
    throw Error(ExitCode::qemu_start, "cannot find \"" + argv[0] +
                                          "\" in PATH; install qemu-system-x86 or set "
                                          "qemu.binary in the profile");
  std::weak_ptr<Impl> weak = impl_;
  std::error_code ec;
  impl_->child = bp::child(
      bp::exe = exe, bp::args = std::vector<std::string>(argv.begin() + 1, argv.end()),
      bp::std_in<bp::null, (bp::std_out & bp::std_err)> impl_->pipe, ChildSetup{}, ioc,
      bp::on_exit =
          [weak](int, const std::error_code&) {
            if (auto self = weak.lock()) {
              // The handler's own value folds signals into small numbers (SIGKILL looks like
              // exit 9); the raw wait status tells them apart.
              const int raw = self->child.native_exit_code();
              self->status = WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : WEXITSTATUS(raw);
              self->exited = true;
              self->maybe_done();
            }
          },
      ec);
  if (ec) throw Error(ExitCode::qemu_start, "cannot start " + exe.string() + ": " + ec.message());
  impl_->read();
}

QemuProcess::~QemuProcess() {
  if (impl_->child.valid() && impl_->child.running()) {
    ::kill(impl_->child.id(), SIGKILL);
    std::error_code ec;
    impl_->child.wait(ec);
  }
  if (impl_->log_fd >= 0) ::close(impl_->log_fd);
}

pid_t QemuProcess::pid() const {
  return impl_->child.id();
}

bool QemuProcess::running() const {
  return !impl_->exited;
}

bool QemuProcess::finished() const {
  return impl_->exited && impl_->drained;
}

int QemuProcess::exit_status() const {
  return impl_->status;
}

void QemuProcess::on_exit(std::function<void(int)> handler) {
  impl_->handler = std::move(handler);
  impl_->maybe_done();
}

void QemuProcess::signal(int sig) {
  if (!impl_->exited) ::kill(impl_->child.id(), sig);
}

std::vector<std::string> QemuProcess::last_lines() const {
  return {impl_->lines.begin(), impl_->lines.end()};
}

}  // namespace mdevrun

#include "qemu/qemu_process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <iostream>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "base/error.hpp"
#include "os/process.hpp"

namespace mdevrun {
namespace asio = boost::asio;

namespace {
constexpr std::size_t kKeptLines = 40;
}  // namespace

struct QemuProcess::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& ioc) : pipe(ioc), exit_watch(ioc) {}

  asio::posix::stream_descriptor pipe;        // qemu's stdout+stderr
  asio::posix::stream_descriptor exit_watch;  // a dup of the pidfd: readable once qemu exited
  Child child;
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
  ChildOptions options;
  options.output = ChildOptions::Output::pipe;
  options.die_with_parent = true;
  // Our own signal handling (SIGINT/SIGTERM -> orderly stop) must not reach qemu directly.
  options.own_process_group = true;
  try {
    impl_->child = spawn(argv, options);
  } catch (const SpawnError& e) {
    if (e.error == ENOENT && argv.at(0).find('/') == std::string::npos)
      throw Error(ExitCode::qemu_start, "cannot find \"" + argv[0] +
                                            "\" in PATH; install qemu-system-x86 or set "
                                            "qemu.binary in the profile");
    throw Error(ExitCode::qemu_start, e.what());
  }
  impl_->pipe.assign(impl_->child.output().release());
  const int watch = ::fcntl(impl_->child.pidfd(), F_DUPFD_CLOEXEC, 0);
  if (watch < 0)
    throw Error(ExitCode::qemu_start, "cannot watch qemu (pid " +
                                          std::to_string(impl_->child.pid()) +
                                          "): no pidfd; mdevrun needs Linux 5.3 or later");
  impl_->exit_watch.assign(watch);
  std::weak_ptr<Impl> weak = impl_;
  impl_->exit_watch.async_wait(asio::posix::stream_descriptor::wait_read, [weak](auto ec) {
    auto self = weak.lock();
    if (!self || ec) return;
    // The pidfd is readable: qemu has exited, so this reaps it without blocking.
    self->status = self->child.try_wait().value_or(-1);
    self->exited = true;
    self->maybe_done();
  });
  impl_->read();
}

QemuProcess::~QemuProcess() {
  if (!impl_->exited) impl_->child.kill_and_reap();
  boost::system::error_code ec;
  impl_->exit_watch.close(ec);
  if (impl_->log_fd >= 0) ::close(impl_->log_fd);
}

pid_t QemuProcess::pid() const {
  return impl_->child.pid();
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
  if (!impl_->exited) impl_->child.signal(sig);
}

std::vector<std::string> QemuProcess::last_lines() const {
  return {impl_->lines.begin(), impl_->lines.end()};
}

}  // namespace mdevrun

#include "fault_server.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace qmp::test {
namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

/// Polls fd for `events` or the stop eventfd, up to `bound`. True when fd is ready.
bool wait_for(int fd, short events, int stop_fd, std::chrono::milliseconds bound) {
  pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("poll");
    if (fds[1].revents) throw std::runtime_error("fault server stopped");
    if (fds[0].revents) return true;
  }
}

}  // namespace

bool fault_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!wait_for(fd_, POLLOUT, stop_fd_, bound_)) throw std::runtime_error("send: timed out");
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return false;  // EPIPE, ECONNRESET: the client closed
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void fault_connection::send_byte_by_byte(std::string_view bytes) {
  const auto deadline = std::chrono::steady_clock::now() + bound_;
  for (char c : bytes) {
    if (!send(std::string_view(&c, 1))) throw std::runtime_error("peer closed");
    // SIOCOUTQ: bytes the peer has not read yet. Wait until it has, so every byte is its own read.
    int unread = 1;
    while (::ioctl(fd_, SIOCOUTQ, &unread) == 0 && unread > 0) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("peer not reading");
      ::sched_yield();
    }
  }
}

void fault_connection::send_until_closed(std::string_view chunk) {
  while (send(chunk)) {
  }
}

bool fault_connection::wait_readable() {
  return wait_for(fd_, POLLIN, stop_fd_, bound_);
}

nlohmann::json fault_connection::read_message() {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return nlohmann::json::parse(line);
    }
    if (!wait_readable()) throw std::runtime_error("read_message: timed out");
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("read_message: client closed the connection");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void fault_connection::handshake() {
  send(kGreeting);
  auto caps = read_message();
  if (caps.value("execute", "") != "qmp_capabilities") {
    throw std::runtime_error("expected qmp_capabilities, got " + caps.dump());
  }
  send(reply_to(caps, nlohmann::json::object()));
}

std::string fault_connection::reply_to(const nlohmann::json& cmd, const nlohmann::json& value) {
  nlohmann::json reply = {{"return", value}};
  if (auto id = cmd.find("id"); id != cmd.end()) reply["id"] = *id;  // as qemu: only if it had one
  return reply.dump() + "\r\n";
}

bool fault_connection::wait_closed() {
  for (;;) {
    if (!wait_readable()) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
  }
}

fault_server::fault_server(script s, std::chrono::milliseconds bound) : bound_(bound) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "qmp-fault-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw sys_error("mkdtemp");
  dir_ = tmpl;
  path_ = dir_ + "/qmp.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    throw sys_error("bind " + path_);
  }
  if (::listen(listen_fd_, 4) < 0) throw sys_error("listen");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) throw sys_error("eventfd");
  thread_ = std::thread([this, s = std::move(s)]() mutable { run(std::move(s)); });
}

void fault_server::run(script s) {
  int fd = -1;
  try {
    if (!wait_for(listen_fd_, POLLIN, stop_fd_, bound_)) {
      throw std::runtime_error("no client connected");
    }
    fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) throw sys_error("accept");
    fault_connection conn(fd, stop_fd_, bound_);
    s(conn);
  } catch (const std::exception& e) {
    failure_ = e.what();
  }
  if (fd >= 0) ::close(fd);
}

std::string fault_server::finish() {
  if (thread_.joinable()) thread_.join();
  return failure_;
}

fault_server::~fault_server() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) std::abort();
  if (thread_.joinable()) thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace qmp::test

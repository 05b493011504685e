#include "instance/serial_console.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <map>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include "base/error.hpp"
#include "instance/private_listener.hpp"
#include "os/unix_socket.hpp"

namespace mdevrun {
namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

namespace {
constexpr std::size_t kChunk = 16 * 1024;

}  // namespace

struct SerialConsole::impl : std::enable_shared_from_this<impl> {
  struct client {
    explicit client(stream_protocol::socket s) : socket(std::move(s)) {}
    stream_protocol::socket socket;
    ConsolePeer peer;
    std::array<char, kChunk> read_buffer{};
    std::string queued;   // to write next
    std::string writing;  // being written
    bool admitted = false;
    bool close_after_write = false;
  };

  impl(asio::io_context& ioc, Options o)
      : opts(std::move(o)), serial_acceptor(ioc), console_acceptor(ioc), qemu(ioc) {}

  Options opts;
  stream_protocol::acceptor serial_acceptor;
  stream_protocol::acceptor console_acceptor;
  stream_protocol::socket qemu;
  bool qemu_connected = false;
  std::array<char, kChunk> qemu_buffer{};
  std::string to_qemu;  // typed by the holder, being written to qemu
  int log_fd = -1;
  ConsoleHolder holder;
  std::map<std::uint64_t, std::shared_ptr<client>> clients;
  std::uint64_t next_id = 1;
  bool closed = false;

  void open() {
    log_fd = ::open(opts.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
      throw Error(ExitCode::failure, "cannot write the serial log " + opts.log_file.string() +
                                         ": " + std::strerror(errno));
    listen_private(serial_acceptor, opts.serial_socket, "the serial console");
    listen_private(console_acceptor, opts.console_socket, "the serial console");
    accept_qemu();
    accept_client();
  }

  // qemu connects once, at start-up; later connections to serial.sock are not qemu's.
  void accept_qemu() {
    serial_acceptor.async_accept(qemu, [self = shared_from_this()](boost::system::error_code ec) {
      if (self->closed || ec) return;
      self->qemu_connected = true;
      boost::system::error_code ignored;
      self->serial_acceptor.close(ignored);
      self->read_qemu();
      if (auto h = self->holder_client()) self->read_client(h);
    });
  }

  void read_qemu() {
    qemu.async_read_some(asio::buffer(qemu_buffer),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (self->closed) return;
                           if (n > 0)
                             self->guest_output(std::string_view(self->qemu_buffer.data(), n));
                           if (ec) {
                             self->qemu_connected = false;  // qemu is gone; cleanup closes the rest
                             return;
                           }
                           self->read_qemu();
                         });
  }

  void guest_output(std::string_view bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t w = ::write(log_fd, bytes.data() + done, bytes.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // a full disk loses log lines, never the guest's progress
      done += static_cast<std::size_t>(w);
    }
    auto h = holder_client();
    if (!h) return;
    if (h->queued.size() + h->writing.size() + bytes.size() > opts.max_pending) {
      if (opts.log)
        opts.log("console client pid " + std::to_string(h->peer.pid) +
                 " dropped: it did not read " + std::to_string(opts.max_pending) +
                 " bytes of guest output");
      return disconnect(h->peer.id);
    }
    h->queued.append(bytes);
    write_client(h);
  }

  std::shared_ptr<client> holder_client() {
    if (!holder.holder()) return nullptr;
    auto it = clients.find(holder.holder()->id);
    return it == clients.end() ? nullptr : it->second;
  }

  void accept_client() {
    console_acceptor.async_accept(
        [self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket s) {
          if (self->closed) return;
          if (!ec) self->admit(std::move(s));
          self->accept_client();  // EMFILE and the like: the next accept may work
        });
  }

  void admit(stream_protocol::socket s) {
    auto c = std::make_shared<client>(std::move(s));
    c->peer.id = next_id++;
    if (auto peer = socket_peer(c->socket.native_handle(), opts.proc_root)) {
      c->peer.pid = peer->pid;
      c->peer.comm = peer->comm;
    }
    clients.emplace(c->peer.id, c);
    if (holder.try_take(c->peer)) {
      c->admitted = true;
      c->queued = console_admitted_line();
      write_client(c);
      if (qemu_connected) read_client(c);
    } else {
      c->queued = console_refused_line(*holder.holder());
      c->close_after_write = true;
      if (opts.log)
        opts.log("console client pid " + std::to_string(c->peer.pid) + " refused: pid " +
                 std::to_string(holder.holder()->pid) + " holds the console");
      write_client(c);
    }
  }

  void write_client(const std::shared_ptr<client>& c) {
    if (!c->writing.empty() || c->queued.empty()) return;
    c->writing = std::move(c->queued);
    c->queued.clear();
    asio::async_write(c->socket, asio::buffer(c->writing),
                      [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
                        c->writing.clear();
                        if (self->closed) return;
                        if (ec) return self->disconnect(c->peer.id);
                        if (c->queued.empty() && c->close_after_write)
                          return self->disconnect(c->peer.id);
                        self->write_client(c);
                      });
  }

  // One read at a time, and the next only once qemu took the last: a holder typing faster than
  // the guest reads waits in its own socket buffer.
  void read_client(const std::shared_ptr<client>& c) {
    c->socket.async_read_some(
        asio::buffer(c->read_buffer),
        [self = shared_from_this(), c](boost::system::error_code ec, std::size_t n) {
          if (self->closed || !self->clients.count(c->peer.id)) return;
          if (ec) return self->disconnect(c->peer.id);  // eof: the holder left
          if (!self->qemu_connected) return;
          self->to_qemu.assign(c->read_buffer.data(), n);
          asio::async_write(self->qemu, asio::buffer(self->to_qemu),
                            [self, c](boost::system::error_code wec, std::size_t) {
                              if (self->closed || wec) return;
                              if (self->clients.count(c->peer.id)) self->read_client(c);
                            });
        });
  }

  void disconnect(std::uint64_t id) {
    holder.release(id);
    auto it = clients.find(id);
    if (it == clients.end()) return;
    boost::system::error_code ignored;
    it->second->socket.close(ignored);
    clients.erase(it);
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    serial_acceptor.close(ignored);
    console_acceptor.close(ignored);
    qemu.close(ignored);
    for (auto& [id, c] : clients) c->socket.close(ignored);
    clients.clear();
    if (log_fd >= 0) ::close(log_fd);
    log_fd = -1;
    std::error_code ec;
    std::filesystem::remove(opts.serial_socket, ec);
    std::filesystem::remove(opts.console_socket, ec);
  }
};

SerialConsole::SerialConsole(asio::io_context& ioc, Options options)
    : impl_(std::make_shared<impl>(ioc, std::move(options))) {
  try {
    impl_->open();
  } catch (...) {
    impl_->close();
    throw;
  }
}

SerialConsole::~SerialConsole() {
  close();
}

void SerialConsole::close() {
  impl_->close();
}

bool SerialConsole::writing() const {
  for (const auto& [id, c] : impl_->clients)
    if (!c->writing.empty() || !c->queued.empty()) return true;
  return false;
}

std::optional<ConsolePeer> SerialConsole::holder() const {
  return impl_->holder.holder();
}

}  // namespace mdevrun

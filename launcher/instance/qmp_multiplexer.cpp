#include "instance/qmp_multiplexer.hpp"

#include "instance/private_listener.hpp"

#include <sys/stat.h>

#include <array>
#include <optional>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include "base/error.hpp"

namespace mdevrun {
namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;
using client_id = qmp::multiplexer::client_id;

namespace {

// How much one read takes from a client: a few commands at once, bounded per client.
constexpr std::size_t kReadChunk = 16 * 1024;

qmp::greeting greeting_of(qmp::client& upstream) {
  if (!upstream.peer_greeting())
    throw Error(ExitCode::failure, "the QMP multiplexer needs a connected monitor");
  return *upstream.peer_greeting();
}

}  // namespace

struct QmpMultiplexer::impl : std::enable_shared_from_this<impl> {
  struct connection {
    explicit connection(stream_protocol::socket s) : socket(std::move(s)) {}
    stream_protocol::socket socket;
    std::array<char, kReadChunk> read_buffer{};
    std::string write_buffer;
    bool reading = false;
    bool writing = false;
    bool input_closed = false;  // the client shut down its sending side
  };

  impl(asio::io_context& ioc, qmp::client& up, Options o)
      : upstream(up),
        opts(std::move(o)),
        mux(greeting_of(up), opts.limits),
        acceptor(ioc),
        events(up, {}) {}

  qmp::client& upstream;
  Options opts;
  qmp::multiplexer mux;
  stream_protocol::acceptor acceptor;
  qmp::listener events;
  std::map<client_id, std::shared_ptr<connection>> connections;
  bool closed = false;

  void open() {
    listen_private(acceptor, opts.socket, "QMP");
    accept();
    wait_event();
  }

  void accept() {
    acceptor.async_accept(
        [self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket s) {
          if (self->closed) return;
          if (!ec) {
            const client_id c = self->mux.add_client();
            self->connections.emplace(c, std::make_shared<connection>(std::move(s)));
            self->service(c);
          }
          // EMFILE and the like: the listener stays; the next accept may work.
          self->accept();
        });
  }

  void wait_event() {
    events.async_wait([self = shared_from_this()](boost::system::error_code ec, qmp::event e) {
      if (self->closed || ec) return;  // the monitor closed: the supervisor is ending
      self->mux.event(e);
      self->process();
      self->wait_event();
    });
  }

  void forward(qmp::multiplexer::forward f) {
    const auto tok = f.tok;
    if (auto local = opts.local.find(f.command); local != opts.local.end()) {
      local->second(f.arguments, [self = shared_from_this(), tok](qmp::reply r) {
        if (self->closed) return;
        self->mux.reply(tok, r);
        self->process();
      });
      return;
    }
    // No timeout: some commands take long, and the client decides how long to wait.
    upstream.async_execute(
        std::move(f.command), std::move(f.arguments), std::chrono::milliseconds::zero(),
        [self = shared_from_this(), tok](boost::system::error_code ec, qmp::reply r) {
          if (self->closed) return;
          if (ec) {
            r = {};
            r.error = qmp::qmp_error{"GenericError",
                                     "qemu's monitor: " + (self->upstream.error_detail().empty()
                                                               ? ec.message()
                                                               : self->upstream.error_detail())};
          }
          self->mux.reply(tok, r);
          self->process();
        });
  }

  // Acts on what the protocol side decided, then lets every connection write and read again.
  void process() {
    while (auto out = mux.next_output()) {
      if (auto* f = std::get_if<qmp::multiplexer::forward>(&*out)) {
        forward(std::move(*f));
      } else if (auto* d = std::get_if<qmp::multiplexer::dropped>(&*out)) {
        if (opts.log)
          opts.log("QMP client " + std::to_string(d->client) + " dropped: " + d->reason);
        disconnect(d->client);
      }
    }
    for (auto it = connections.begin(); it != connections.end();) {
      const client_id c = it++->first;  // service() may disconnect c
      service(c);
    }
  }

  void service(client_id c) {
    auto it = connections.find(c);
    if (it == connections.end()) return;
    std::shared_ptr<connection> conn = it->second;
    if (!conn->writing && mux.has_output_bytes(c)) {
      conn->write_buffer = mux.take_output_bytes(c);
      conn->writing = true;
      asio::async_write(
          conn->socket, asio::buffer(conn->write_buffer),
          [self = shared_from_this(), c, conn](boost::system::error_code ec, std::size_t) {
            conn->writing = false;
            if (self->closed) return;
            if (ec) return self->disconnect(c);
            self->service(c);
          });
    }
    if (conn->input_closed) {
      if (!conn->writing && mux.idle(c)) disconnect(c);
      return;
    }
    if (!conn->reading && mux.wants_input(c)) {
      conn->reading = true;
      conn->socket.async_read_some(
          asio::buffer(conn->read_buffer),
          [self = shared_from_this(), c, conn](boost::system::error_code ec, std::size_t n) {
            conn->reading = false;
            if (self->closed) return;
            if (ec == asio::error::eof) {
              conn->input_closed = true;  // replies still owed go out first
            } else if (ec) {
              return self->disconnect(c);  // reset: its pending replies are dropped
            }
            self->mux.feed(c, std::string_view(conn->read_buffer.data(), n));
            self->process();
          });
    }
  }

  void disconnect(client_id c) {
    mux.remove_client(c);
    auto it = connections.find(c);
    if (it == connections.end()) return;
    boost::system::error_code ignored;
    it->second->socket.close(ignored);
    connections.erase(it);
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& [c, conn] : connections) conn->socket.close(ignored);
    connections.clear();
    events.cancel();
    std::error_code ec;
    std::filesystem::remove(opts.socket, ec);
  }
};

QmpMultiplexer::QmpMultiplexer(asio::io_context& ioc, qmp::client& upstream, Options options)
    : impl_(std::make_shared<impl>(ioc, upstream, std::move(options))) {
  impl_->open();
}

QmpMultiplexer::~QmpMultiplexer() {
  close();
}

void QmpMultiplexer::close() {
  impl_->close();
}

std::size_t QmpMultiplexer::client_count() const {
  return impl_->connections.size();
}

bool QmpMultiplexer::writing() const {
  for (const auto& [c, conn] : impl_->connections)
    if (conn->writing || impl_->mux.has_output_bytes(c)) return true;
  return false;
}

}  // namespace mdevrun

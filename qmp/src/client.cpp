#include "qmp/client.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace qmp {
namespace detail {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

/// Posts `h(args...)` to `ex`: handlers never run inside the call that started the operation.
template <class Handler, class... Args>
void post_completion(const asio::any_io_executor& ex, Handler&& h, Args&&... args) {
  asio::post(ex, [h = std::forward<Handler>(h), ... args = std::forward<Args>(args)]() mutable {
    h(std::move(args)...);
  });
}

std::string describe(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

struct listener_state : std::enable_shared_from_this<listener_state> {
  listener_state(asio::any_io_executor ex, event_filter f, std::size_t max)
      : executor(std::move(ex)), filter(std::move(f)), max_queued(max), timer(executor) {}

  void deliver(event e) {
    if (waiter) {
      timer.cancel();
      post_completion(executor, std::exchange(waiter, nullptr), error_code{}, std::move(e));
      return;
    }
    if (queue.size() >= max_queued) {
      queue.pop_front();
      ++dropped;
    }
    queue.push_back(std::move(e));
  }

  /// The connection ended (or the client went away): wake a waiter that has nothing queued.
  void end(error_code reason) {
    if (!ended) ended = reason;
    if (waiter && queue.empty()) {
      timer.cancel();
      post_completion(executor, std::exchange(waiter, nullptr), ended, event{});
    }
  }

  void complete_waiter(error_code ec) {
    if (!waiter) return;
    timer.cancel();
    post_completion(executor, std::exchange(waiter, nullptr), ec, event{});
  }

  asio::any_io_executor executor;
  event_filter filter;
  std::size_t max_queued;
  std::deque<event> queue;
  std::size_t dropped = 0;
  event_handler waiter;
  std::uint64_t wait_generation = 0;  // tells a stale timer expiry from the current wait's
  asio::steady_timer timer;
  error_code ended;  // set once the connection has ended
  std::weak_ptr<client_impl> owner;
};

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor ex, config cfg)
      : executor_(std::move(ex)),
        cfg_(std::move(cfg)),
        socket_(executor_),
        connect_timer_(executor_),
        deadline_timer_(executor_),
        session_(cfg_.max_message_size, cfg_.transcript, cfg_.ids_on_the_wire) {}

  enum class phase { idle, connecting, connected, closed };

  void async_connect(std::string path, std::chrono::milliseconds timeout, connect_handler handler) {
    if (phase_ != phase::idle) {
      post_completion(executor_, std::move(handler), error_code(error::already_connected));
      return;
    }
    phase_ = phase::connecting;
    connect_handler_ = std::move(handler);
    stream::endpoint endpoint;
    try {
      endpoint = stream::endpoint(path);
    } catch (const boost::system::system_error& e) {  // path longer than sun_path
      end(e.code(), "cannot connect to " + path);
      return;
    }
    if (timeout > std::chrono::milliseconds::zero()) {
      connect_timer_.expires_after(timeout);
      connect_timer_.async_wait([self = shared_from_this(), timeout](error_code ec) {
        if (ec || self->phase_ != phase::connecting) return;
        const bool greeted = self->greeting_.has_value();
        self->end(error::timeout, greeted
                                      ? "no reply to qmp_capabilities within " + describe(timeout)
                                      : "no QMP greeting within " + describe(timeout) +
                                            " (is another client connected to this monitor?)");
      });
    }
    socket_.async_connect(endpoint, [self = shared_from_this(), path](error_code ec) {
      if (self->phase_ != phase::connecting) return;
      if (ec) {
        self->end(ec, "cannot connect to " + path);
        return;
      }
      error_code ignored;
      self->socket_.non_blocking(true, ignored);  // flush() writes without blocking
      self->start_read();
    });
  }

  call_id async_execute(std::string command, json args, std::chrono::milliseconds timeout,
                        execute_handler handler) {
    if (phase_ != phase::connected && phase_ != phase::connecting) {
      const error_code ec = phase_ == phase::closed ? error::disconnected : error::not_connected;
      post_completion(executor_, std::move(handler), ec, reply{});
      return 0;
    }
    const call_id id = session_.send(command, args);
    pending_call& call = calls_[id];
    call.handler = std::move(handler);
    if (timeout > std::chrono::milliseconds::zero()) {
      call.deadline = clock::now() + timeout;
      arm_deadline_timer(call.deadline);
    }
    flush();
    return id;
  }

  bool cancel(call_id id) { return finish_call(id, error::cancelled); }

  void async_wait_closed(closed_handler handler) {
    if (phase_ == phase::closed) {
      post_completion(executor_, std::move(handler), close_reason_);
      return;
    }
    closed_waiters_.push_back(std::move(handler));
  }

  void close() { end(error::cancelled, "closed by the client"); }

  void add_listener(const std::shared_ptr<listener_state>& l) {
    if (phase_ == phase::closed) l->end(close_reason_);
    listeners_.push_back(l);
  }
  void remove_listener(const listener_state* l) {
    std::erase_if(listeners_, [l](const auto& p) { return p.get() == l; });
  }

  const asio::any_io_executor& executor() const noexcept { return executor_; }
  const config& cfg() const noexcept { return cfg_; }
  bool is_connected() const noexcept { return phase_ == phase::connected; }
  const std::optional<greeting>& peer_greeting() const noexcept { return greeting_; }
  const std::string& error_detail() const noexcept { return detail_; }

 private:
  using clock = asio::steady_timer::clock_type;

  struct pending_call {
    execute_handler handler;
    clock::time_point deadline = clock::time_point::max();  ///< max: no timeout
  };

  // One timer for every call's deadline, armed for the earliest and never cancelled when a call
  // ends: a reply then costs no timer syscall (timerfd_settime per call was a third of the
  // library's extra system calls per round trip). When it fires it times out what is due and
  // re-arms for the next deadline, if any.
  void arm_deadline_timer(clock::time_point deadline) {
    if (deadline >= armed_for_) return;
    armed_for_ = deadline;
    deadline_timer_.expires_at(deadline);  // cancels an earlier wait: it sees operation_aborted
    deadline_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->on_deadline();
    });
  }

  void on_deadline() {
    armed_for_ = clock::time_point::max();
    if (phase_ == phase::closed) return;
    const auto now = clock::now();
    std::vector<call_id> due;
    auto next = clock::time_point::max();
    for (const auto& [id, call] : calls_) {
      if (call.deadline <= now)
        due.push_back(id);
      else
        next = std::min(next, call.deadline);
    }
    std::sort(due.begin(), due.end());  // in the order they were sent
    for (call_id id : due) finish_call(id, error::timeout);
    if (next != clock::time_point::max()) arm_deadline_timer(next);
  }

  /// Completes pending call `id` with `ec` and forgets it; its late reply will be dropped.
  bool finish_call(call_id id, error_code ec) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return false;
    session_.abandon(id);
    post_completion(executor_, std::move(it->second.handler), ec, reply{});
    calls_.erase(it);
    if (cfg_.transcript) {
      cfg_.transcript(direction::note, "call " + std::to_string(id) + " ended: " + ec.message());
    }
    return true;
  }

  void start_read() {
    socket_.async_read_some(
        asio::buffer(read_buffer_),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(error_code ec, std::size_t n) {
    if (phase_ == phase::closed) return;
    if (ec == asio::error::eof) {
      session_.feed_eof();
    } else if (ec) {
      session_.feed_eof("reading from the monitor failed: " + ec.message());
    } else {
      session_.feed(std::string_view(read_buffer_.data(), n));
    }
    process_outputs();
    if (phase_ == phase::closed) return;
    flush();
    // Armed from a posted handler, after this one returns: arming tries a read first (EAGAIN,
    // as qemu has sent nothing more yet), which then happens while the caller sends its next
    // command and qemu works on it, not between a reply's arrival and its handler.
    asio::post(executor_, [self = shared_from_this()] {
      if (self->phase_ != phase::closed) self->start_read();
    });
  }

  void process_outputs() {
    bool posted = false;  // a reply must not overtake an event, or the connect, that came before
    while (auto out = session_.next_output()) {
      if (auto* g = std::get_if<session::greeting_received>(&*out)) {
        greeting_ = std::move(g->greeting);
      } else if (std::holds_alternative<session::ready_reached>(*out)) {
        phase_ = phase::connected;
        connect_timer_.cancel();
        post_completion(executor_, std::exchange(connect_handler_, nullptr), error_code{});
        posted = true;
      } else if (auto* r = std::get_if<session::reply_received>(&*out)) {
        auto it = calls_.find(r->id);
        if (it == calls_.end()) continue;
        execute_handler h = std::move(it->second.handler);
        calls_.erase(it);
        if (posted) {
          post_completion(executor_, std::move(h), error_code{}, std::move(r->reply));
          continue;
        }
        // Inside a completion of our own (on_read), not inside the caller's initiating call, so
        // running the handler here keeps the no-inline-completion promise; posting it instead
        // cost a reactor poll between the reply's arrival and its handler.
        asio::dispatch(executor_, [h = std::move(h), reply = std::move(r->reply)]() mutable {
          h(error_code{}, std::move(reply));
        });
        if (phase_ == phase::closed) return;  // the handler closed the client
      } else if (auto* e = std::get_if<session::event_received>(&*out)) {
        for (const auto& l : listeners_) {
          if (l->filter.matches(e->event)) {
            l->deliver(e->event);
            posted = true;
          }
        }
      } else if (auto* f = std::get_if<session::failed>(&*out)) {
        end(f->code, std::move(f->detail));
      }
    }
  }

  void flush() {
    if (writing_ || !session_.has_output_bytes() || phase_ == phase::closed) return;
    write_buffer_ = session_.take_output_bytes();
    // A command is a few dozen bytes and the socket buffer is almost always free: write it now,
    // without a blocking wait (the socket is in non-blocking mode) and without queueing a
    // completion handler, which cost the io_context an extra turn per command. Only what does
    // not fit goes through async_write.
    error_code ec;
    const std::size_t n = socket_.write_some(asio::buffer(write_buffer_), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      end(error::disconnected, "writing to the monitor failed: " + ec.message());
      return;
    }
    if (!ec && n == write_buffer_.size()) return;
    write_buffer_.erase(0, ec ? 0 : n);
    writing_ = true;
    asio::async_write(socket_, asio::buffer(write_buffer_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (self->phase_ == phase::closed) return;
                        if (ec) {
                          self->end(error::disconnected,
                                    "writing to the monitor failed: " + ec.message());
                          return;
                        }
                        self->flush();
                      });
  }

  /// Ends the connection once: every pending operation completes with `reason`.
  void end(error_code reason, std::string detail) {
    if (phase_ == phase::closed) return;
    const bool was_connecting = phase_ == phase::connecting;
    phase_ = phase::closed;
    close_reason_ = reason;
    detail_ = std::move(detail);
    session_.fail(reason, detail_);  // notes it in the transcript; stops the session
    error_code ignored;
    socket_.close(ignored);
    connect_timer_.cancel();
    deadline_timer_.cancel();
    armed_for_ = clock::time_point::max();
    if (was_connecting && connect_handler_) {
      post_completion(executor_, std::exchange(connect_handler_, nullptr), reason);
    }
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [id, call] : calls) {
      post_completion(executor_, std::move(call.handler), reason, reply{});
    }
    for (const auto& l : listeners_) l->end(reason);
    for (auto& w : std::exchange(closed_waiters_, {}))
      post_completion(executor_, std::move(w), reason);
  }

  asio::any_io_executor executor_;
  config cfg_;
  stream::socket socket_;
  asio::steady_timer connect_timer_;
  asio::steady_timer deadline_timer_;
  clock::time_point armed_for_ = clock::time_point::max();  ///< deadline_timer_'s, max: idle
  session session_;
  phase phase_ = phase::idle;
  connect_handler connect_handler_;
  std::optional<greeting> greeting_;
  std::unordered_map<call_id, pending_call> calls_;
  std::vector<std::shared_ptr<listener_state>> listeners_;
  std::vector<closed_handler> closed_waiters_;
  std::array<char, 64 * 1024> read_buffer_;
  std::string write_buffer_;
  bool writing_ = false;
  error_code close_reason_;
  std::string detail_;
};

}  // namespace detail

client::client(executor_type ex, config cfg)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), std::move(cfg))) {}

client::~client() {
  impl_->close();
}

client::executor_type client::get_executor() const noexcept {
  return impl_->executor();
}
const config& client::get_config() const noexcept {
  return impl_->cfg();
}

void client::async_connect(std::string path, connect_handler handler) {
  impl_->async_connect(std::move(path), impl_->cfg().connect_timeout, std::move(handler));
}
void client::async_connect(std::string path, std::chrono::milliseconds timeout,
                           connect_handler handler) {
  impl_->async_connect(std::move(path), timeout, std::move(handler));
}

call_id client::async_execute(std::string command, json args, execute_handler handler) {
  return impl_->async_execute(std::move(command), std::move(args), impl_->cfg().command_timeout,
                              std::move(handler));
}
call_id client::async_execute(std::string command, json args, std::chrono::milliseconds timeout,
                              execute_handler handler) {
  return impl_->async_execute(std::move(command), std::move(args), timeout, std::move(handler));
}

bool client::cancel(call_id id) {
  return impl_->cancel(id);
}
void client::async_wait_closed(closed_handler handler) {
  impl_->async_wait_closed(std::move(handler));
}
void client::close() {
  impl_->close();
}
bool client::is_connected() const noexcept {
  return impl_->is_connected();
}
const std::optional<greeting>& client::peer_greeting() const noexcept {
  return impl_->peer_greeting();
}
const std::string& client::error_detail() const noexcept {
  return impl_->error_detail();
}

listener::listener(client& c, event_filter filter)
    : state_(std::make_shared<detail::listener_state>(c.get_executor(), std::move(filter),
                                                      c.get_config().max_queued_events)) {
  state_->owner = c.impl_;
  c.impl_->add_listener(state_);
}

listener::~listener() {
  if (!state_) return;
  if (auto owner = state_->owner.lock()) owner->remove_listener(state_.get());
  state_->complete_waiter(error::cancelled);
}

listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&& other) noexcept {
  if (this != &other) {
    listener old(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

void listener::async_wait(std::chrono::milliseconds timeout, event_handler handler) {
  auto& s = *state_;
  if (!s.queue.empty()) {
    event e = std::move(s.queue.front());
    s.queue.pop_front();
    detail::post_completion(s.executor, std::move(handler), error_code{}, std::move(e));
    return;
  }
  error_code ended = s.ended;
  if (!ended && s.owner.expired()) ended = error::cancelled;
  if (ended) {
    detail::post_completion(s.executor, std::move(handler), ended, event{});
    return;
  }
  if (s.waiter) {  // one wait at a time: the earlier one is superseded
    s.complete_waiter(error::cancelled);
  }
  s.waiter = std::move(handler);
  const std::uint64_t generation = ++s.wait_generation;
  if (timeout > std::chrono::milliseconds::zero()) {
    s.timer.expires_after(timeout);
    s.timer.async_wait(
        [weak = std::weak_ptr<detail::listener_state>(state_), generation](error_code ec) {
          auto st = weak.lock();
          if (!ec && st && st->waiter && st->wait_generation == generation) {
            detail::post_completion(st->executor, std::exchange(st->waiter, nullptr),
                                    error_code(error::timeout), event{});
          }
        });
  }
}

void listener::cancel() {
  state_->complete_waiter(error::cancelled);
}

std::optional<event> listener::try_pop() {
  if (state_->queue.empty()) return std::nullopt;
  event e = std::move(state_->queue.front());
  state_->queue.pop_front();
  return e;
}

std::size_t listener::queued() const noexcept {
  return state_->queue.size();
}
std::size_t listener::dropped() const noexcept {
  return state_->dropped;
}

}  // namespace qmp

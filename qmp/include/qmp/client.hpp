#pragma once
// The asynchronous QMP client: one unix-socket connection to a QEMU monitor, on a caller-provided
// Asio executor, driving a qmp::session (session.hpp). One reader, one write queue, a timer per
// call with a timeout.
//
// Threading: not thread-safe. Use a client, its listeners and its handlers from the thread(s)
// running its executor (one io_context thread, or a strand). Handlers are always posted to the
// client's executor, never invoked inside the initiating call.
// Lifetime: the io_context must outlive the client. One connection per client object: after the
// connection ends, make a new client to reconnect. Destroying (or close()-ing) the client completes
// every pending call, listener wait and async_wait_closed with error::cancelled.
// Errors: transport/protocol failures are error codes (error.hpp); a QEMU error reply is a value in
// qmp::reply. When the connection drops, every pending call fails with the reason (normally
// error::disconnected) and later calls fail at once with error::disconnected.
// Disconnect notification: async_wait_closed() completes when the connection ends, with the reason.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "qmp/config.hpp"
#include "qmp/detail/unique_function.hpp"
#include "qmp/error.hpp"
#include "qmp/event.hpp"
#include "qmp/reply.hpp"
#include "qmp/session.hpp"

namespace qmp {

namespace detail {
class client_impl;
struct listener_state;
}  // namespace detail

using error_code = boost::system::error_code;
using connect_handler = detail::unique_function<void(error_code)>;
using execute_handler = detail::unique_function<void(error_code, reply)>;
using event_handler = detail::unique_function<void(error_code, event)>;
using closed_handler = detail::unique_function<void(error_code)>;

class client {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit client(executor_type ex, config cfg = {});
  explicit client(boost::asio::io_context& ioc, config cfg = {})
      : client(ioc.get_executor(), std::move(cfg)) {}
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  executor_type get_executor() const noexcept;
  const config& get_config() const noexcept;

  /// Connects to the unix socket `path`, reads the greeting and negotiates capabilities; completes
  /// with success only after qemu's qmp_capabilities reply, within `timeout` (default
  /// config::connect_timeout), else with error::timeout. Other failures: a system code from
  /// connect (ENOENT, ECONNREFUSED, ...), no_greeting, negotiation_failed, protocol_error,
  /// disconnected, already_connected.
  void async_connect(std::string path, connect_handler handler);
  void async_connect(std::string path, std::chrono::milliseconds timeout, connect_handler handler);

  /// Sends one command; any number may be in flight, replies are matched by order (by id with
  /// config::ids_on_the_wire). A command sent
  /// while async_connect is still in progress is written right behind qmp_capabilities (one round
  /// trip fewer for a one-shot client) and fails with the connect's error if that fails; the
  /// connect's handler still completes first. Before async_connect: error::not_connected.
  /// Completes with (success, reply) when qemu answers (reply.error set for a QEMU error reply),
  /// or with error::timeout after `timeout` (zero: none; default config::command_timeout),
  /// error::cancelled (cancel(), close()), error::disconnected or the protocol error that ended
  /// the session. After a timeout or cancel the late reply is dropped. `args` null: no arguments.
  /// Returns the call's id, for cancel().
  call_id async_execute(std::string command, json args, execute_handler handler);
  call_id async_execute(std::string command, json args, std::chrono::milliseconds timeout,
                        execute_handler handler);
  /// Completes a pending call with error::cancelled. False when `id` is not pending.
  bool cancel(call_id id);

  /// Completes once the connection has ended (or at once if it already has), with why:
  /// error::disconnected (qemu closed it), a protocol error, or error::cancelled (close()).
  /// Any number of waits may be outstanding.
  void async_wait_closed(closed_handler handler);

  /// Ends the connection. Idempotent.
  void close();

  bool is_connected() const noexcept;
  /// The greeting, once received.
  const std::optional<greeting>& peer_greeting() const noexcept;
  /// Why the connection ended or connect failed, in words (empty while fine).
  const std::string& error_detail() const noexcept;

 private:
  friend class listener;
  std::shared_ptr<detail::client_impl> impl_;
};

/// Receives the events that match a filter, from construction until destruction (RAII), into its
/// own FIFO (bounded by config::max_queued_events; the oldest is dropped past it). Register it
/// BEFORE sending the command that triggers the event: no event is lost in between.
/// Same threading rules as its client. It may outlive the client: waits then fail with
/// error::cancelled once the queue is empty.
class listener {
 public:
  listener(client& c, event_filter filter);
  ~listener();
  listener(listener&&) noexcept;
  listener& operator=(listener&&) noexcept;

  /// Completes with the oldest queued event; or error::timeout after `timeout` (zero: none);
  /// error::disconnected once the queue is empty and the connection has ended; error::cancelled
  /// (cancel(), destruction). At most one wait may be outstanding per listener.
  void async_wait(std::chrono::milliseconds timeout, event_handler handler);
  void async_wait(event_handler handler) {
    async_wait(std::chrono::milliseconds::zero(), std::move(handler));
  }
  /// Completes an outstanding wait with error::cancelled.
  void cancel();

  /// Takes the oldest queued event, if any, without waiting.
  std::optional<event> try_pop();
  std::size_t queued() const noexcept;
  /// Events dropped because the queue was full.
  std::size_t dropped() const noexcept;

 private:
  std::shared_ptr<detail::listener_state> state_;
};

}  // namespace qmp

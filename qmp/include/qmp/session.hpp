#pragma once
// The sans-I/O QMP session: bytes in -> greeting, replies routed by id, events; commands -> bytes
// out. No sockets, no timers, no threads: the Asio client (client.hpp) drives it, tests and the
// fuzzer drive it directly.
//
// Protocol handled here:
//  - framing: one JSON object per line ("\n" or "\r\n"); reads may split or join messages anyway;
//    invalid UTF-8 is replaced by U+FFFD before parsing; a line longer than max_message_size fails
//    the session with error::message_too_large without buffering more than that;
//  - the greeting must come first (else error::no_greeting), then the session itself queues
//    `qmp_capabilities`; its reply makes the session ready (an error reply: negotiation_failed);
//  - commands may be sent before that reply (pipelining): they are written right behind
//    qmp_capabilities, which QEMU runs first as it runs one client's commands in order, so a
//    one-shot client saves a round trip; if negotiation fails, the session fails and so do they;
//  - replies are matched to pending commands by order (the default: commands are written without
//    an "id", see config::ids_on_the_wire) or, when a reply has one, by id; a reply whose command
//    is no longer pending (cancelled, timed out) is noted in the transcript and dropped, as is one
//    with an unknown id; with ids on the wire, an error or a return without id is a protocol error
//    (qemu's answer to a command it could not parse); a reply with no command outstanding, invalid
//    JSON and non-objects are protocol errors too, and end the session.
// Once failed, the session ignores further input; failure is reported once, as the last output.
//
// Threading: not thread-safe. Lifetime: none beyond the object. Errors: never throws on input
// (except std::bad_alloc); send() throws std::logic_error once failed.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include <boost/system/error_code.hpp>

#include "qmp/config.hpp"
#include "qmp/event.hpp"
#include "qmp/reply.hpp"

namespace qmp {

/// Identifies a command within one session: the "id" member; 1 is qmp_capabilities, commands
/// count up from 2.
using call_id = std::uint64_t;

class session {
 public:
  enum class state { awaiting_greeting, negotiating, ready, failed };

  /// The greeting arrived; the qmp_capabilities command is now queued for writing.
  struct greeting_received {
    qmp::greeting greeting;
  };
  /// qemu accepted qmp_capabilities: commands may be sent.
  struct ready_reached {};
  struct reply_received {
    call_id id;
    qmp::reply reply;
  };
  struct event_received {
    qmp::event event;
  };
  /// The session failed (protocol error, eof, ...). Always the last output.
  struct failed {
    boost::system::error_code code;
    std::string detail;
  };
  using output =
      std::variant<greeting_received, ready_reached, reply_received, event_received, failed>;

  explicit session(std::size_t max_message_size = config{}.max_message_size,
                   transcript_sink transcript = {},
                   bool ids_on_the_wire = config{}.ids_on_the_wire);

  state current_state() const noexcept { return state_; }

  /// Feeds bytes received from the peer. Outputs become available through next_output().
  void feed(std::string_view bytes);
  /// The peer closed the connection (or reading failed). Fails the session with
  /// error::no_greeting before the greeting, error::disconnected after; no-op once failed.
  void feed_eof(std::string_view detail = "qemu closed the monitor connection");
  /// Fails the session from outside (e.g. a connect timeout); no-op once failed.
  void fail(boost::system::error_code code, std::string detail);

  /// Takes the next output, in the order the messages arrived.
  std::optional<output> next_output();

  /// Queues `{"execute": command, "arguments": args}` (with `"id": N` when ids are on the wire)
  /// for writing and returns N, the call's id either way.
  /// `args` null means no arguments. Before the greeting the command is held, then written right
  /// behind qmp_capabilities; while negotiating it follows qmp_capabilities. Precondition: not
  /// failed.
  call_id send(std::string_view command, const json& args = nullptr);
  /// Forgets a pending command: its reply, if it ever comes, is noted and dropped.
  /// Returns false when `id` was not pending.
  bool abandon(call_id id);
  /// Ids sent and not yet answered (excluding abandoned ones).
  std::size_t pending_count() const noexcept { return pending_.size(); }

  /// Bytes to write to the peer (whole lines). Take them all and write them in order.
  std::string take_output_bytes() { return std::exchange(write_buffer_, {}); }
  bool has_output_bytes() const noexcept { return !write_buffer_.empty(); }

 private:
  void handle_line(std::string_view line);
  void handle_message(json&& msg);
  void handle_reply(json&& msg);
  void queue_command(call_id id, std::string_view command, const json& args);
  void note(std::string_view text);

  struct held_command {
    call_id id;
    std::string command;
    json args;
  };

  std::size_t max_message_size_;
  transcript_sink transcript_;
  state state_ = state::awaiting_greeting;
  std::string read_buffer_;         // bytes of the current incomplete line
  std::size_t scanned_ = 0;         // read_buffer_[0, scanned_) holds no '\n'
  std::string write_buffer_;        // serialized lines not yet taken
  std::vector<held_command> held_;  // sent before the greeting, written behind qmp_capabilities
  std::deque<output> outputs_;
  std::unordered_set<call_id> pending_;  // sent, not answered, not abandoned
  std::deque<call_id> in_order_;         // every command written and not answered, in wire order
  bool ids_on_the_wire_;
  // qmp_capabilities is always id 1, even when commands were sent before the greeting.
  static constexpr call_id capabilities_id_ = 1;
  call_id next_id_ = 2;
};

}  // namespace qmp

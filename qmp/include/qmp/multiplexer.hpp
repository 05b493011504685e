#pragma once
// The sans-I/O QMP server side: many clients in front of one upstream QMP connection. Bytes from
// each client in -> commands to forward upstream; upstream replies and events in -> bytes for each
// client out. No sockets, no timers, no threads: an Asio layer (in mdevrun, the supervisor's
// instance/qmp_multiplexer) drives it, tests and the fuzzer drive it directly.
//
// What each client sees is what qemu 7.2 does on a monitor of its own:
//  - the greeting first (qemu's version, capabilities [] : no "oob", because every command goes
//    through one upstream connection in order anyway), then its own qmp_capabilities negotiation;
//    any other command before it gets CommandNotFound "Expecting capabilities negotiation with
//    'qmp_capabilities'", a second qmp_capabilities CommandNotFound "Capabilities negotiation is
//    already complete, command ignored";
//  - input is a stream of JSON values like qemu's parser reads it (not lines: an object may span
//    lines, two may share one). Garbage gets GenericError "JSON parse error, ..." without id and
//    the stream goes on; a non-object "QMP input must be a JSON object"; bad members "QMP input
//    member 'X' is unexpected" / "... must be a string" / "lacks member 'execute'", with the id;
//  - replies carry the client's own id (any JSON value, or none when it sent none): upstream, each
//    command is a `forward` with a token unique across all clients, and reply(token) routes it
//    back;
//  - events reach every client that has negotiated, in upstream order.
// Isolation: a client has at most max_in_flight commands forwarded and unanswered (further input
// waits in its buffer; wants_input() tells the I/O layer to stop reading it), at most
// max_message_size bytes per message, and at most max_output_bytes queued for it; over that
// bound it is dropped (a `dropped` output, its state freed). Nothing one client does reaches
// another or the upstream connection beyond its own forwarded commands.
//
// Threading: not thread-safe. Lifetime: none beyond the object. Errors: never throws on client
// input or upstream data (except std::bad_alloc); calls naming an unknown client are no-ops.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "qmp/event.hpp"
#include "qmp/reply.hpp"

namespace qmp {

struct multiplexer_config {
  /// Largest message accepted from a client; a longer one is answered with a parse error and
  /// skipped up to the next newline. Commands are small: 1 MiB leaves room for any argument.
  std::size_t max_message_size = 1024 * 1024;
  /// Bytes queued for one client (replies, events) not yet taken by the I/O layer; past this the
  /// client is dropped. Holds several query-qmp-schema replies (~210 KB on qemu 7.2).
  std::size_t max_output_bytes = 4 * 1024 * 1024;
  /// Commands of one client forwarded upstream and not yet answered. qemu itself stops reading a
  /// monitor with 8 queued requests; the same bound keeps one client from filling qemu's queue.
  std::size_t max_in_flight = 8;
};

class multiplexer {
 public:
  using client_id = std::uint64_t;
  /// Names one forwarded command upstream: unique for the multiplexer's lifetime.
  using token = std::uint64_t;

  /// A client's command to execute upstream; answer it with reply(tok, ...). Commands the I/O
  /// layer implements itself (its own verbs) are answered the same way.
  struct forward {
    client_id client;
    token tok;
    std::string command;
    json arguments;  ///< null when the client sent none
  };
  /// A client went over a bound and was removed: close its connection.
  struct dropped {
    client_id client;
    std::string reason;
  };
  using output = std::variant<forward, dropped>;

  explicit multiplexer(greeting upstream, multiplexer_config cfg = {});

  /// A new client: its greeting is queued. Ids start at 1 and are never reused.
  client_id add_client();
  /// The client's connection ended (or the I/O layer closed it). Replies still owed to it are
  /// dropped when they come.
  void remove_client(client_id c);
  bool has_client(client_id c) const { return clients_.count(c) != 0; }
  std::size_t client_count() const noexcept { return clients_.size(); }

  /// Bytes received from client `c`.
  void feed(client_id c, std::string_view bytes);
  /// False while `c` has max_in_flight commands unanswered: stop reading it until a reply.
  bool wants_input(client_id c) const;

  /// The upstream answer to `forward` `tok`. False when no command with that token is pending.
  bool reply(token tok, const qmp::reply& r);
  /// An upstream event: queued for every negotiated client.
  void event(const qmp::event& e);

  /// The next forward / dropped, in the order they arose.
  std::optional<output> next_output();

  /// Bytes to write to client `c` (whole messages, each ending in "\n"), in order.
  std::string take_output_bytes(client_id c);
  bool has_output_bytes(client_id c) const;
  /// True when nothing is owed to `c`: no command in flight, no bytes queued. A client that
  /// closed its sending side (`echo ... | socat`) is closed once it is idle, so it gets its
  /// replies, as from qemu.
  bool idle(client_id c) const;

  /// Commands forwarded and not yet answered, over all clients (including removed ones).
  std::size_t pending_count() const noexcept { return pending_.size(); }

 private:
  struct client_state {
    std::string in;                // bytes not yet consumed
    std::size_t scanned = 0;       // in[0, scanned) scanned as part of the current value
    std::size_t depth = 0;         // bracket depth inside the current value
    bool in_string = false;        // inside a JSON string
    bool escaped = false;          // the previous byte was a backslash inside a string
    bool skip_to_newline = false;  // after an oversized or too deep value: resynchronize
    bool negotiated = false;
    std::size_t in_flight = 0;
    std::string out;
  };
  struct pending_call {
    client_id client;
    std::optional<json> id;
  };

  struct scan_result {
    enum kind_t { none, value, error } kind = none;
    std::string text;  // the value, or the error's description
  };

  void pump(client_id c);
  scan_result next_value(client_state& s) const;
  void handle_value(client_id c, std::string_view text);
  void handle_command(client_id c, json&& msg);
  void queue(client_id c, const json& msg);
  void queue_error(client_id c, const std::optional<json>& id, std::string_view cls,
                   std::string desc);
  void drop(client_id c, std::string reason);

  multiplexer_config cfg_;
  std::string greeting_line_;
  std::map<client_id, client_state> clients_;  // ordered: events go out in a stable order
  std::unordered_map<token, pending_call> pending_;
  std::deque<output> outputs_;
  client_id next_client_ = 1;
  token next_token_ = 1;
};

}  // namespace qmp

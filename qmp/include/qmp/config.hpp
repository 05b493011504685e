#pragma once
// Configuration of a QMP client: a plain struct with documented defaults. Copy freely.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace qmp {

/// Direction of a transcript line.
enum class direction {
  in,    ///< a message received from qemu (the raw line, without its line terminator)
  out,   ///< a message sent to qemu (without its "\n")
  note,  ///< a remark of the client: dropped reply, protocol error, disconnect
};

/// Receives every message in and out. Called synchronously on the client's executor thread.
using transcript_sink = std::function<void(direction, std::string_view)>;

/// "<-", "->" or "--": the prefix the CLI's --debug prints for a direction.
constexpr std::string_view arrow(direction d) {
  return d == direction::in ? "<- " : d == direction::out ? "-> " : "-- ";
}

struct config {
  /// Bound on connect + greeting + qmp_capabilities reply.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  /// Per-call timeout used when a call does not give one. zero() means no timeout.
  std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};
  /// Largest accepted message (one line). query-qmp-schema is ~210 KB on qemu 7.2. A longer line is
  /// a protocol error (error::message_too_large) and closes the connection: memory stays bounded.
  std::size_t max_message_size = 16 * 1024 * 1024;
  /// Events a listener keeps queued; past this the oldest is dropped (listener::dropped() counts).
  std::size_t max_queued_events = 100000;
  /// Optional debug transcript of every message (see direction).
  transcript_sink transcript;
  /// false (the default): commands go without an "id" and replies are matched to them by order.
  /// QEMU runs one monitor's commands one at a time and answers them in the order they came (out
  /// of band execution, which would reorder, is never negotiated), and it answers a command that
  /// carries an id ~40 µs later than one without (qemu 7.2; qmp/BENCHMARKS.md). true: every
  /// command carries its call id and replies are matched by it (for a peer that reorders).
  bool ids_on_the_wire = false;
};

}  // namespace qmp

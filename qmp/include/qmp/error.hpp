#pragma once
// Error codes of the QMP client library.
//
// Contract: every transport, framing or protocol failure is a `boost::system::error_code` in the
// `qmp` category (or a system/Asio code from connect, e.g. ENOENT, ECONNREFUSED). A QEMU error
// reply
// (`{"error":{"class","desc"}}`) is NOT an error code: it is a value in `qmp::reply` (reply.hpp).
// The blocking facade throws `qmp::system_error` carrying one of these codes and a detail message.
// Thread-safe: the category is a function-local static with no state.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

namespace qmp {

/// Failures of a QMP connection or call. Values start at 1 (0 is success).
enum class error {
  disconnected = 1,    ///< the monitor closed the connection (or it was closed); calls pending then
                       ///< fail with this, and so do calls made afterwards
  timeout,             ///< the call or connect did not complete within its timeout
  cancelled,           ///< the call was cancelled by its owner (cancel(), close(), destruction)
  protocol_error,      ///< the peer broke QMP: invalid JSON, a non-object, an error without id, ...
  message_too_large,   ///< a message exceeded config::max_message_size; the connection was closed
  no_greeting,         ///< the peer closed or sent something else before the QMP greeting
  negotiation_failed,  ///< qemu answered qmp_capabilities with an error
  not_connected,       ///< the client is not connected (never connected, or still connecting)
  already_connected,   ///< async_connect on a client that is connecting or connected
};

/// The category of qmp::error; name() is "qmp".
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Thrown by the blocking facade: code() is a qmp::error or a system code; what() has the detail.
using system_error = boost::system::system_error;

/// What the blocking facade throws when connecting or negotiating fails: a system_error, so one
/// catch handles every failure, and its own type, so a caller can tell "the monitor could not be
/// reached" from "the command failed" (connect_and_execute does both).
class connect_error : public system_error {
 public:
  using system_error::system_error;
};

}  // namespace qmp

template <>
struct boost::system::is_error_code_enum<qmp::error> : std::true_type {};

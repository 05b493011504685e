#pragma once
// The byte pump of an attached console: what is typed (`in`) goes to the connected socket, what
// the socket says goes to `out`, until the user types the escape byte (Ctrl-], like virsh
// console), the peer closes, or `in` ends. When `in` ends (a pipe: tests, scripts) the pump keeps
// copying the socket's output until it has been quiet for `linger` (at most `linger_max`), so
// the answer to the last command typed still arrives.
//
// Blocking, on the calling thread (poll(2)); no shared state. EINTR is retried, so signals that
// are handled elsewhere do not end it. Errors: a failed read or write on the socket or `out`
// ends the relay as peer_closed / output_closed; nothing throws.

#include <chrono>
#include <optional>
#include <string_view>

namespace mdevrun {

struct RelayOptions {
  std::optional<unsigned char> escape = 0x1d;   ///< Ctrl-]; not forwarded; none: no escape
  std::chrono::milliseconds linger{1000};       ///< after `in` ended: quiet time that ends it
  std::chrono::milliseconds linger_max{10000};  ///< after `in` ended: the bound
};

enum class RelayEnd {
  escape,         ///< the escape byte was typed
  input_closed,   ///< `in` ended and the output went quiet (or linger_max passed)
  peer_closed,    ///< the socket closed: the VM (or its supervisor) is gone
  output_closed,  ///< `out` cannot be written (a reader that went away)
};

/// `first_output` is written to `out` before anything else (bytes already read from the socket).
RelayEnd relay_console(int socket, int in, int out, const RelayOptions& options,
                       std::string_view first_output = {});

}  // namespace mdevrun

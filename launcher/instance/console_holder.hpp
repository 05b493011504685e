#pragma once
// Who may type on an instance's serial console, and the one line that tells a client so. The
// policy: one holder at a time; a second client is refused (not shared read-only), with a line
// naming the holder's pid and program, and `mdevrun console` exits 11 (busy). Like virsh
// console's "Active console session exists", so two people never type into one shell unknowingly.
//
// Wire format (console.sock): the supervisor's first line to each client is either
//   "mdevrun-console ok"                       then raw bytes both ways, or
//   "mdevrun-console busy <pid> <comm>"         and the connection closes.
// Pure; not thread-safe (the supervisor uses it from its io_context thread).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mdevrun {

struct ConsolePeer {
  std::uint64_t id = 0;  ///< the connection, as the server numbers them
  pid_t pid = 0;         ///< 0: unknown
  std::string comm;      ///< the peer's program name, may be empty
};

class ConsoleHolder {
 public:
  /// True when `peer` holds the console now (it was free, or `peer` already held it); false
  /// when another peer holds it (holder() names it).
  bool try_take(const ConsolePeer& peer);
  /// Frees the console if `id` holds it; anything else is a no-op.
  void release(std::uint64_t id);
  const std::optional<ConsolePeer>& holder() const { return holder_; }

 private:
  std::optional<ConsolePeer> holder_;
};

/// "mdevrun-console ok\n".
std::string console_admitted_line();
/// "mdevrun-console busy 123 mdevrun\n" (comm "?" when unknown).
std::string console_refused_line(const ConsolePeer& holder);

struct ConsoleHandshake {
  bool admitted = false;
  std::string held_by;  ///< refused: "pid 123 (mdevrun)"
};

/// The first line as received (without '\n'); none for anything else (not a console socket).
std::optional<ConsoleHandshake> parse_console_handshake(std::string_view line);

}  // namespace mdevrun

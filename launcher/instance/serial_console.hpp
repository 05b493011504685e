#pragma once
// The guest's serial console, served by the supervisor (serial mode "console", the default).
// qemu's serial chardev connects to serial.sock, which this listens on before qemu starts (so
// nothing the guest prints is lost); everything the guest writes is appended to serial.log and
// copied to the console's holder; what the holder types goes to the guest. console.sock serves
// `mdevrun console` clients under ConsoleHolder's policy: one holder at a time, a second client
// gets the refusal line naming the holder (SO_PEERCRED) and is disconnected.
//
// Threading: runs on the given io_context; use it from that thread. Nothing is served unless the
// io_context runs (both sockets accept into their backlog meanwhile). Lifetime: close() (or the
// destructor) ends every connection and removes both socket files; handlers still queued find
// it closed and do nothing. Errors: the constructor throws Error(failure) when a socket or the
// log cannot be made; afterwards a failing client is dropped (and logged), never reported.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "instance/console_holder.hpp"

namespace mdevrun {

class SerialConsole {
 public:
  struct Options {
    std::filesystem::path serial_socket;          ///< qemu's serial connects here; mode 0600
    std::filesystem::path console_socket;         ///< `mdevrun console` clients; mode 0600
    std::filesystem::path log_file;               ///< serial.log, appended, mode 0600
    std::filesystem::path proc_root = "/proc";    ///< to name a holder's program
    std::function<void(const std::string&)> log;  ///< one line per dropped client
    /// Guest output queued for a holder that does not read; past it the holder is dropped (the
    /// guest and serial.log never wait for a slow terminal).
    std::size_t max_pending = 4 << 20;
  };

  SerialConsole(boost::asio::io_context& ioc, Options options);
  ~SerialConsole();
  SerialConsole(const SerialConsole&) = delete;
  SerialConsole& operator=(const SerialConsole&) = delete;

  void close();
  /// True while guest output is queued for or being written to the holder.
  bool writing() const;
  std::optional<ConsolePeer> holder() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace mdevrun

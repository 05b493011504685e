#pragma once
// The supervisor's QMP socket: any number of clients at once in front of the supervisor's one
// connection to qemu's monitor. The protocol (greeting, each client's negotiation, ids made unique
// and restored, events to all, bounds) is qmp::multiplexer's; this is the Asio part: a unix
// socket acceptor, one reader and one writer per client, commands forwarded on the supervisor's
// qmp::client, events from one listener on it. Commands named in `local` are answered by the
// supervisor itself (its own verbs) instead of qemu.
//
// Threading: runs on the io_context of the qmp::client it is given; use it from that thread.
// Nothing happens unless the io_context runs (the socket accepts into its backlog meanwhile).
// Lifetime: the upstream client must outlive close() (or the destructor); handlers still queued
// after that find the multiplexer closed and do nothing. close() ends every client's connection
// and removes the socket file.
// Errors: the constructor throws Error(failure) when the socket cannot be made; afterwards a
// failing client is dropped (and logged), never reported to the caller.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "qmp/client.hpp"
#include "qmp/multiplexer.hpp"

namespace mdevrun {

class QmpMultiplexer {
 public:
  /// Completes a local command; call it once, on the io_context's thread, now or later.
  using Done = std::function<void(qmp::reply)>;
  using LocalCommand = std::function<void(const qmp::json& arguments, Done done)>;

  struct Options {
    std::filesystem::path socket;                 ///< created with mode 0600; replaced if present
    std::map<std::string, LocalCommand> local;    ///< verbs answered by the supervisor
    std::function<void(const std::string&)> log;  ///< one line per dropped client
    qmp::multiplexer_config limits;
  };

  /// Serves `options.socket` for `upstream`, which must be connected (its greeting is what each
  /// client gets).
  QmpMultiplexer(boost::asio::io_context& ioc, qmp::client& upstream, Options options);
  ~QmpMultiplexer();
  QmpMultiplexer(const QmpMultiplexer&) = delete;
  QmpMultiplexer& operator=(const QmpMultiplexer&) = delete;

  void close();
  std::size_t client_count() const;
  /// True while bytes are queued or being written to some client: a caller about to close can
  /// run the io_context until this is false (bounded) so last replies and events get out.
  bool writing() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace mdevrun

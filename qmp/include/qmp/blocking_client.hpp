#pragma once
// Blocking facade over qmp::client for the CLI, tests and scripts-like code.
//
// Threading: not thread-safe; owns a private io_context and spawns NO thread: every call runs that
// io_context on the calling thread until the call completes, so events are only read while some
// call (execute, a listener's wait, ...) is running. They are not lost in between: the kernel
// socket buffer and qemu hold them until the next call reads them.
// Lifetime: listeners returned by listen() must not outlive the blocking_client.
// Errors: transport and protocol failures throw qmp::system_error (code() is a qmp::error or a
// system code, what() has the detail); a QEMU error reply is returned as a value.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"
#include "qmp/config.hpp"

namespace qmp {

class blocking_client;

/// A listener (client.hpp) with a blocking wait.
class blocking_listener {
 public:
  /// The oldest queued event, waiting up to `timeout` (zero: no bound); nullopt on timeout.
  /// Throws system_error(error::disconnected) once the queue is empty and the connection ended.
  std::optional<event> wait(std::chrono::milliseconds timeout);
  std::optional<event> try_pop() { return listener_.try_pop(); }
  std::size_t queued() const noexcept { return listener_.queued(); }
  std::size_t dropped() const noexcept { return listener_.dropped(); }

 private:
  friend class blocking_client;
  blocking_listener(blocking_client& owner, event_filter filter);
  blocking_client* owner_;
  listener listener_;
};

class blocking_client {
 public:
  explicit blocking_client(config cfg = {});
  ~blocking_client();
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  /// Connects and negotiates (client::async_connect). Throws connect_error on failure.
  void connect(const std::string& path);
  void connect(const std::string& path, std::chrono::milliseconds timeout);
  /// connect() and execute() in one: the command is written right behind qmp_capabilities, not
  /// after its reply, which saves a round trip for a one-shot client. A failed connect throws
  /// connect_error (whatever became of the command); then the command's outcome as execute().
  reply connect_and_execute(const std::string& path, std::chrono::milliseconds connect_timeout,
                            std::string_view command, const json& args,
                            std::chrono::milliseconds command_timeout);

  /// One command (client::async_execute); the default timeout is config::command_timeout.
  /// Throws system_error on timeout/disconnect/protocol error; a QEMU error is reply::error.
  reply execute(std::string_view command, const json& args = nullptr);
  reply execute(std::string_view command, const json& args, std::chrono::milliseconds timeout);

  /// Starts receiving matching events now: call before the command that triggers them.
  blocking_listener listen(event_filter filter);

  typed_reply<status_info> query_status();
  typed_reply<std::vector<pci_device>> query_pci();
  typed_reply<std::vector<qom_property>> qom_list(const std::string& path);
  /// `properties` holds "driver", "id" and the device's properties.
  reply device_add(const json& properties);
  /// device_del + wait for its completion event (async_device_del); bounded by `timeout`.
  unplug_result device_del(const std::string& id, std::chrono::milliseconds timeout);
  reply system_powerdown() { return execute("system_powerdown"); }
  reply quit() { return execute("quit"); }
  reply stop() { return execute("stop"); }
  reply cont() { return execute("cont"); }

  /// Reads what is available and returns whether the connection is still up (non-blocking).
  bool poll_connected();
  void close();

  const greeting& peer_greeting() const;
  client& async_client() noexcept { return *client_; }
  boost::asio::io_context& context() noexcept { return ioc_; }

  /// Runs the io_context on this thread until `done()`. Operations started before must bound it
  /// (every operation of this facade has a timeout or completes on disconnect).
  template <class Done>
  void run_until(Done done) {
    ioc_.restart();
    while (!done()) {
      if (ioc_.run_one() == 0) throw_stalled();
    }
  }

 private:
  [[noreturn]] void throw_stalled();
  [[noreturn]] void throw_error(error_code ec);
  [[noreturn]] void throw_connect_error(error_code ec);
  [[noreturn]] void throw_call_error(error_code ec, std::string_view command,
                                     std::chrono::milliseconds timeout);

  boost::asio::io_context ioc_{1};
  std::unique_ptr<client> client_;
};

}  // namespace qmp

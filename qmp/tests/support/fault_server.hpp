#pragma once
// A scripted QMP peer for tests: listens on a unix socket in a fresh temp dir, accepts ONE
// connection and runs a script (a function of a fault_connection) on its own thread, with plain
// blocking POSIX calls. Every wait is bounded (default 10 s) and woken by the destructor, so a test
// never hangs on it. Script failures (exceptions) are reported by finish().

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

namespace qmp::test {

inline constexpr std::string_view kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fault"}, )"
    R"("capabilities": ["oob"]})"
    "}\r\n";

class fault_connection {
 public:
  fault_connection(int fd, int stop_fd, std::chrono::milliseconds bound)
      : fd_(fd), stop_fd_(stop_fd), bound_(bound) {}

  /// Writes all of `bytes`; false when the peer has gone (no SIGPIPE).
  bool send(std::string_view bytes);
  /// Writes one byte at a time, each after the peer has read the previous one.
  void send_byte_by_byte(std::string_view bytes);
  /// Writes `chunk` again and again until the peer closes the connection.
  void send_until_closed(std::string_view chunk);
  /// Reads one line the client sent and parses it. Throws on eof, timeout or invalid JSON.
  nlohmann::json read_message();
  /// Greeting, read qmp_capabilities, answer it. Returns nothing; throws when the client differs.
  void handshake();
  /// Answers command `cmd` (a parsed message) with `{"return": value, "id": cmd.id}` + "\r\n"
  /// (without "id" when the command had none, as qemu does).
  static std::string reply_to(const nlohmann::json& cmd, const nlohmann::json& value);
  /// Blocks until the client closes its end (bounded). Returns false on timeout.
  bool wait_closed();

 private:
  bool wait_readable();
  int fd_;
  int stop_fd_;
  std::chrono::milliseconds bound_;
  std::string buffer_;
};

class fault_server {
 public:
  using script = std::function<void(fault_connection&)>;

  explicit fault_server(script s, std::chrono::milliseconds bound = std::chrono::seconds(10));
  ~fault_server();
  fault_server(const fault_server&) = delete;
  fault_server& operator=(const fault_server&) = delete;

  /// The socket to connect to.
  const std::string& path() const { return path_; }
  /// Waits for the script to end (bounded by the server's bound) and returns its failure text,
  /// empty when it succeeded.
  std::string finish();

 private:
  void run(script s);
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::chrono::milliseconds bound_;
  std::string failure_;
  std::thread thread_;
};

}  // namespace qmp::test

#pragma once
// The runtime directory: per-instance folders (sockets, log, state file) and the lock files that
// keep two launchers off one instance or one mdev. Layout (README "Runtime layout"):
//
//   <parent>/                      Host::runtime: $MDEVRUN_RUNTIME_DIR, else /run/mdevrun
//                                  (root), else $XDG_RUNTIME_DIR/mdevrun; mode 0700
//   <parent>/<name>/               one per running instance, mode 0700: monitor.sock (the
//                                  supervisor's QMP socket for any number of clients), qmp.sock
//                                  (qemu's monitor, the supervisor's), qmp-cli.sock (qemu's second
//                                  monitor, direct: one client at a time), qemu.log,
//                                  supervisor.log, state.json, journal.jsonl; with the serial
//                                  console: serial.sock (qemu's serial, the supervisor's),
//                                  console.sock (`mdevrun console`), serial.log; with helpers
//                                  swtpm.sock, virtiofs-<tag>.sock and their logs
//   <parent>/locks/<uuid>.lock     one per mdev in use (shared by all instances)
//   <parent>/locks/instance-<name>.lock
//
// Locks live outside the instance folder because that folder is removed at cleanup while the
// instance lock is still held.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "os/host.hpp"

namespace mdevrun {

class RuntimeDir {
 public:
  explicit RuntimeDir(std::filesystem::path parent) : parent_(std::move(parent)) {}

  /// The host's runtime directory (Host::runtime_parent(): throws Error(failure) when it has
  /// none).
  static RuntimeDir of(const Host& host) { return RuntimeDir(host.runtime_parent()); }

  const std::filesystem::path& parent() const noexcept { return parent_; }
  std::filesystem::path instance_dir(std::string_view name) const;
  std::filesystem::path qmp_socket(std::string_view name) const;  ///< the supervisor's monitor
  /// qemu's second monitor, direct (one client at a time; `stop` falls back to it when the
  /// supervisor does not answer).
  std::filesystem::path qmp_cli_socket(std::string_view name) const;
  /// The supervisor's multiplexed QMP socket: what every CLI command and any QMP client uses.
  std::filesystem::path monitor_socket(std::string_view name) const;
  std::filesystem::path supervisor_log(std::string_view name) const;
  /// serial console mode: where qemu's serial connects (the supervisor listens), what the
  /// supervisor serves to `mdevrun console` clients, and the log it appends everything to.
  std::filesystem::path serial_socket(std::string_view name) const;
  std::filesystem::path console_socket(std::string_view name) const;
  std::filesystem::path serial_log(std::string_view name) const;
  std::filesystem::path qemu_log(std::string_view name) const;
  std::filesystem::path state_file(std::string_view name) const;
  std::filesystem::path journal_file(std::string_view name) const;  ///< the intent journal
  std::filesystem::path locks_dir() const;
  std::filesystem::path mdev_lock(std::string_view uuid) const;
  std::filesystem::path instance_lock(std::string_view name) const;

  /// Creates the parent and locks folders if missing (0700). Returns locks_dir().
  std::filesystem::path ensure_locks_dir() const;

  /// Creates the parent (0700 if new) and the instance folder with mode 0700 (an existing folder
  /// is reused and its mode reset). Throws Error(usage) for an invalid name, Error(failure) when
  /// it cannot create them.
  std::filesystem::path create_instance_dir(std::string_view name) const;

  /// Removes the instance folder and everything in it; a missing folder is fine.
  void remove_instance_dir(std::string_view name) const;

  /// Names of the instance folders present, sorted.
  std::vector<std::string> list_instances() const;

 private:
  std::filesystem::path parent_;
};

/// Throws Error(usage) unless `name` can name an instance folder: 1-64 characters of
/// [A-Za-z0-9._-], not starting with '.' or '-', and not "locks".
void check_instance_name(std::string_view name);

}  // namespace mdevrun

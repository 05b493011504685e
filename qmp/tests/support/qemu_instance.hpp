#pragma once
// A real qemu for tests: `qemu-system-x86_64 -accel tcg -S -nodefaults -display none` with one or
// more QMP monitors on unix sockets in a fresh temp dir. The constructor returns once every socket
// exists (bounded poll, 10 s) and throws if qemu exits first; the destructor SIGKILLs and reaps
// qemu and removes the dir, so nothing is left behind.

#include <sys/types.h>

#include <string>
#include <vector>

namespace qmp::test {

class qemu_instance {
 public:
  explicit qemu_instance(std::vector<std::string> extra_args = {}, int monitors = 1);
  ~qemu_instance();
  qemu_instance(const qemu_instance&) = delete;
  qemu_instance& operator=(const qemu_instance&) = delete;

  /// Socket of monitor `i` (0-based).
  const std::string& qmp_path(int i = 0) const { return sockets_.at(static_cast<std::size_t>(i)); }
  pid_t pid() const { return pid_; }
  /// Sends `sig` to qemu.
  void signal(int sig) const;
  /// SIGKILLs qemu and reaps it (idempotent).
  void kill_and_reap();
  /// qemu's stdout+stderr so far.
  std::string log() const;

  /// The qemu binary to run: $MDEVRUN_QEMU or qemu-system-x86_64.
  static std::string binary();

 private:
  bool all_listening() const;
  std::string dir_;
  std::vector<std::string> sockets_;
  pid_t pid_ = -1;
};

}  // namespace qmp::test

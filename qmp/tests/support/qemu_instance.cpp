#include "qemu_instance.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace qmp::test {

std::string qemu_instance::binary() {
  const char* env = std::getenv("MDEVRUN_QEMU");
  return env && *env ? env : "qemu-system-x86_64";
}

qemu_instance::qemu_instance(std::vector<std::string> extra_args, int monitors) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "qmp-qemu-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::vector<std::string> args = {binary(),      "-accel",   "tcg", "-S",
                                   "-nodefaults", "-display", "none"};
  for (int i = 0; i < monitors; ++i) {
    sockets_.push_back(dir_ + "/qmp" + std::to_string(i) + ".sock");
    args.push_back("-qmp");
    args.push_back("unix:" + sockets_.back() + ",server=on,wait=off");
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log_path = dir_ + "/qemu.log";
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(rc));
  }
  // Bounded poll until every socket is listening. qemu binds (the file appears) before it listens,
  // and a probe connect would take the monitor's one client slot, so read /proc/net/unix instead.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (all_listening()) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string text = log();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("qemu exited before creating its QMP socket: " + text);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      const std::string text = log();
      kill_and_reap();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("qemu did not create its QMP socket within 10 s: " + text);
    }
    const timespec pause{0, 2'000'000};  // 2 ms between checks of a bounded poll
    ::nanosleep(&pause, nullptr);
  }
}

bool qemu_instance::all_listening() const {
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::size_t found = 0;
  while (std::getline(in, line)) {
    // "Num RefCount Protocol Flags Type St Inode Path"; Flags 00010000 is __SO_ACCEPTCON
    // (listening).
    std::istringstream fields(line);
    std::string num, refs, proto, flags, type, st, inode, path;
    if (!(fields >> num >> refs >> proto >> flags >> type >> st >> inode >> path)) continue;
    if (flags != "00010000") continue;
    for (const auto& s : sockets_) found += path == s ? 1 : 0;
  }
  return found == sockets_.size();
}

qemu_instance::~qemu_instance() {
  kill_and_reap();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void qemu_instance::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

void qemu_instance::kill_and_reap() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string qemu_instance::log() const {
  std::ifstream in(dir_ + "/qemu.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace qmp::test

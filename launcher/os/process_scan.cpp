#include "os/process_scan.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "os/sysfs_write.hpp"
#include "os/unique_fd.hpp"

namespace mdevrun {
namespace fs = std::filesystem;

std::vector<pid_t> processes_naming(const fs::path& proc, std::string_view needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(proc, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (entry.empty() || entry.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(entry);
    if (pid == ::getpid()) continue;
    if (read_sysfs(it->path() / "cmdline").value_or("").find(needle) != std::string::npos)
      out.push_back(pid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t kill_processes_naming(const fs::path& proc, std::string_view needle,
                                  std::chrono::milliseconds bound) {
  const auto pids = processes_naming(proc, needle);
  for (const pid_t pid : pids) ::kill(pid, SIGKILL);
  // A killed process keeps its cmdline until it is reaped (init reaps an orphan at once).
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pids.empty() && !processes_naming(proc, needle).empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pids.size();
}

bool unix_socket_accepts(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace mdevrun

#include "os/vfio_holders.hpp"

#include <algorithm>
#include <system_error>

#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;

std::vector<NodeHolder> find_node_holders(const fs::path& node, const fs::path& proc_root) {
  std::error_code ec;
  const std::string wanted = fs::absolute(node, ec).lexically_normal().string();
  const std::string wanted_deleted = wanted + " (deleted)";
  std::vector<NodeHolder> holders;
  for (fs::directory_iterator it(proc_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::error_code fd_ec;
    bool holds = false;
    for (fs::directory_iterator fd(it->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      const std::string target = fs::read_symlink(fd->path(), link_ec).string();
      if (!link_ec && (target == wanted || target == wanted_deleted)) {
        holds = true;
        break;
      }
    }
    if (!holds) continue;
    NodeHolder holder;
    holder.pid = static_cast<pid_t>(std::stol(name));
    holder.comm = trim(read_sysfs(it->path() / "comm").value_or("?"));
    std::string cmdline = read_sysfs(it->path() / "cmdline").value_or("");
    while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.size() > 120) cmdline = cmdline.substr(0, 117) + "...";
    holder.cmdline = cmdline;
    holders.push_back(std::move(holder));
  }
  std::sort(holders.begin(), holders.end(),
            [](const NodeHolder& a, const NodeHolder& b) { return a.pid < b.pid; });
  return holders;
}

std::string describe_holders(const std::vector<NodeHolder>& holders) {
  if (holders.empty()) return "no process";
  std::string out;
  for (const auto& h : holders) {
    if (!out.empty()) out += ", ";
    out += "pid " + std::to_string(h.pid) + " (" + h.comm;
    if (!h.cmdline.empty()) out += ": " + h.cmdline;
    out += ")";
  }
  return out;
}

}  // namespace mdevrun

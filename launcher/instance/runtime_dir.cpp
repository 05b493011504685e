#include "instance/runtime_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "base/text.hpp"
#include "os/private_path.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

void make_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(ExitCode::failure,
                "cannot create runtime directory " + dir.string() + ": " + std::strerror(errno));
  // An existing directory is reused only if it is ours and private (another user could have
  // planted it, with a state file that claims a foreign mdev as created).
  require_private(dir, PathKind::directory, /*missing_ok=*/false);
}

void make_parent(const fs::path& parent) {
  std::error_code ec;
  if (parent.has_parent_path()) fs::create_directories(parent.parent_path(), ec);
  make_private_dir(parent);
}

}  // namespace

void check_instance_name(std::string_view name) {
  if (!is_plain_name(name) || name == "locks")
    throw Error(ExitCode::usage,
                "invalid instance name \"" + std::string(name) +
                    "\": use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-', "
                    "and not \"locks\"");
}

fs::path RuntimeDir::instance_dir(std::string_view name) const {
  return parent_ / name;
}
fs::path RuntimeDir::qmp_socket(std::string_view name) const {
  return instance_dir(name) / "qmp.sock";
}
fs::path RuntimeDir::qmp_cli_socket(std::string_view name) const {
  return instance_dir(name) / "qmp-cli.sock";
}
fs::path RuntimeDir::monitor_socket(std::string_view name) const {
  return instance_dir(name) / "monitor.sock";
}
fs::path RuntimeDir::supervisor_log(std::string_view name) const {
  return instance_dir(name) / "supervisor.log";
}
fs::path RuntimeDir::serial_socket(std::string_view name) const {
  return instance_dir(name) / "serial.sock";
}
fs::path RuntimeDir::console_socket(std::string_view name) const {
  return instance_dir(name) / "console.sock";
}
fs::path RuntimeDir::serial_log(std::string_view name) const {
  return instance_dir(name) / "serial.log";
}
fs::path RuntimeDir::qemu_log(std::string_view name) const {
  return instance_dir(name) / "qemu.log";
}
fs::path RuntimeDir::journal_file(std::string_view name) const {
  return instance_dir(name) / "journal.jsonl";
}
fs::path RuntimeDir::state_file(std::string_view name) const {
  return instance_dir(name) / "state.json";
}
fs::path RuntimeDir::locks_dir() const {
  return parent_ / "locks";
}
fs::path RuntimeDir::mdev_lock(std::string_view uuid) const {
  return locks_dir() / (std::string(uuid) + ".lock");
}
fs::path RuntimeDir::instance_lock(std::string_view name) const {
  return locks_dir() / ("instance-" + std::string(name) + ".lock");
}

fs::path RuntimeDir::ensure_locks_dir() const {
  make_parent(parent_);
  make_private_dir(locks_dir());
  return locks_dir();
}

fs::path RuntimeDir::create_instance_dir(std::string_view name) const {
  check_instance_name(name);
  make_parent(parent_);
  const fs::path dir = instance_dir(name);
  make_private_dir(dir);
  if (::chmod(dir.c_str(), 0700) != 0)
    throw Error(ExitCode::failure, "cannot chmod " + dir.string() + ": " + std::strerror(errno));
  return dir;
}

void RuntimeDir::remove_instance_dir(std::string_view name) const {
  check_instance_name(name);
  std::error_code ec;
  fs::remove_all(instance_dir(name), ec);
  if (ec)
    throw Error(ExitCode::failure,
                "cannot remove " + instance_dir(name).string() + ": " + ec.message());
}

std::vector<std::string> RuntimeDir::list_instances() const {
  std::vector<std::string> names;
  require_private(parent_, PathKind::directory);
  std::error_code ec;
  for (fs::directory_iterator it(parent_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "locks" || !it->is_directory(ec)) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace mdevrun

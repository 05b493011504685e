#include "os/host.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/error.hpp"

namespace mdevrun {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

Host Host::from_env() {
  Host host;
  if (const char* sys = env("MDEVRUN_SYSFS_ROOT")) host.sys = sys;
  if (const char* dev = env("MDEVRUN_DEV_ROOT")) host.dev = dev;
  if (const char* proc = env("MDEVRUN_PROC_ROOT")) host.proc = proc;
  if (const char* dir = env("MDEVRUN_RUNTIME_DIR"))
    host.runtime = dir;
  else if (::geteuid() == 0)
    host.runtime = "/run/mdevrun";
  else if (const char* xdg = env("XDG_RUNTIME_DIR"))
    host.runtime = std::filesystem::path(xdg) / "mdevrun";
  // The XDG base-directory rule; a relative XDG_CONFIG_HOME is invalid there and ignored.
  host.config_dirs.clear();
  const char* xdg_config = env("XDG_CONFIG_HOME");
  if (xdg_config && xdg_config[0] == '/')
    host.config_dirs.push_back(std::filesystem::path(xdg_config) / "mdevrun");
  else if (const char* home = env("HOME"))
    host.config_dirs.push_back(std::filesystem::path(home) / ".config" / "mdevrun");
  const char* system_dir = env("MDEVRUN_SYSTEM_CONFIG_DIR");
  host.config_dirs.push_back(system_dir ? system_dir : "/etc/mdevrun");
  if (const char* notify = env("NOTIFY_SOCKET")) host.notify_socket = notify;
  if (const char* dir = env("MDEVRUN_STATE_DIR"))
    host.state = dir;
  else if (::geteuid() == 0)
    host.state = "/var/lib/mdevrun";
  else if (const char* xdg = env("XDG_STATE_HOME"))
    host.state = std::filesystem::path(xdg) / "mdevrun";
  else if (const char* home = env("HOME"))
    host.state = std::filesystem::path(home) / ".local/state/mdevrun";
  return host;
}

std::filesystem::path Host::profile_state(const std::string& name) const {
  if (!state)
    throw Error(ExitCode::failure,
                "no state directory for " + name +
                    " (TPM state, UEFI vars): HOME and XDG_STATE_HOME are not set; set one (or "
                    "MDEVRUN_STATE_DIR) to a private writable folder");
  return *state / name;
}

const std::filesystem::path& Host::runtime_parent() const {
  if (!runtime)
    throw Error(ExitCode::failure,
                "no runtime directory: XDG_RUNTIME_DIR is not set; set it (or "
                "MDEVRUN_RUNTIME_DIR) to a private writable folder");
  return *runtime;
}

std::filesystem::path Host::vfio_node(int iommu_group) const {
  return dev / "vfio" / std::to_string(iommu_group);
}

}  // namespace mdevrun

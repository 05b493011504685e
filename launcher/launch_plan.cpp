#include "launch_plan.hpp"

#include <unistd.h>
#include <cstdlib>

#include "uuid.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

fs::path runtime_parent() {
  if (const char* dir = std::getenv("MDEVRUN_RUNTIME_DIR")) return dir;
  if (::geteuid() == 0) return "/run/mdevrun";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR")) return fs::path(xdg) / "mdevrun";
  return "/run/mdevrun";
}

fs::path sysfs_root() {
  const char* root = std::getenv("MDEVRUN_SYSFS_ROOT");
  return root ? root : "/sys";
}

}  // namespace

LaunchPlan plan_dry_run(Profile profile) {
  LaunchPlan plan;
  const fs::path dir = runtime_parent() / profile.name;
  plan.paths = {dir / "qmp.sock", dir / "qmp-cli.sock", dir / "OVMF_VARS.fd", dir / "spice.sock"};
  for (const auto& spec : profile.mdevs) {
    ResolvedMdev m;
    m.id = spec.id;
    m.uuid = spec.uuid.value_or(derive_mdev_uuid(profile.name, spec.id));
    m.parent = spec.parent.value_or("");
    m.type = spec.type;
    m.sysfs_path = sysfs_root() / "bus/mdev/devices" / m.uuid;
    m.exists = fs::exists(m.sysfs_path);
    if (!m.exists) plan.notes.push_back("start would create mdev " + m.uuid + " (" + m.type + ")");
    plan.mdevs.push_back(std::move(m));
  }
  plan.argv = build_qemu_argv(profile, plan.mdevs, plan.paths);
  plan.profile = std::move(profile);
  return plan;
}

}  // namespace mdevrun

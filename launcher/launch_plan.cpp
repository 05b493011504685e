#include "launch_plan.hpp"

#include "mdev_ensure.hpp"
#include "runtime_dir.hpp"
#include "sysfs_roots.hpp"

namespace mdevrun {

LaunchPlan plan_dry_run(Profile profile) {
  LaunchPlan plan;
  const RuntimeDir runtime = RuntimeDir::from_env();
  const auto dir = runtime.instance_dir(profile.name);
  plan.paths = {runtime.qmp_socket(profile.name), runtime.qmp_cli_socket(profile.name),
                dir / "OVMF_VARS.fd", dir / "spice.sock"};
  EnsureResult ensured =
      ensure_mdevs(SysfsRoots::from_env(), profile.name, profile.mdevs, EnsureMode::dry_run);
  plan.mdevs = std::move(ensured.mdevs);
  plan.notes = std::move(ensured.notes);
  plan.argv = build_qemu_argv(profile, plan.mdevs, plan.paths);
  plan.profile = std::move(profile);
  return plan;
}

}  // namespace mdevrun

#include "instance/launch_plan.hpp"

#include "devices/mdev_ensure.hpp"
#include "devices/slice_ensure.hpp"
#include "os/host.hpp"

namespace mdevrun {

QemuRuntimePaths qemu_runtime_paths(const RuntimeDir& runtime, const std::string& name) {
  const auto dir = runtime.instance_dir(name);
  return {runtime.qmp_socket(name),
          runtime.qmp_cli_socket(name),
          dir / "OVMF_VARS.fd",
          dir / "spice.sock",
          runtime.serial_socket(name),
          dir,
          dir / "swtpm.sock",
          {},
          {}};
}

QemuRuntimePaths qemu_runtime_paths(const Host& host, const Profile& profile) {
  QemuRuntimePaths paths = qemu_runtime_paths(RuntimeDir::of(host), profile.name);
  // Only profiles that keep state need a state directory (Host::profile_state throws without).
  const bool keeps_vars = profile.firmware.secure_boot && profile.firmware.vars.empty();
  if (profile.tpm || keeps_vars) {
    const auto state = host.profile_state(profile.name);
    paths.tpm_state = state / "tpm";
    paths.profile_vars = state / "OVMF_VARS.fd";
  }
  return paths;
}

LaunchPlan plan_dry_run(const Host& host, Profile profile) {
  LaunchPlan plan;
  plan.paths = qemu_runtime_paths(host, profile);
  EnsureResult ensured = ensure_mdevs(host, profile.name, profile.mdevs, EnsureMode::dry_run);
  plan.mdevs = std::move(ensured.mdevs);
  plan.notes = std::move(ensured.notes);
  SliceEnsureResult slices = ensure_slices(host, profile.slices, EnsureMode::dry_run);
  plan.slices = std::move(slices.slices);
  plan.notes.insert(plan.notes.end(), slices.notes.begin(), slices.notes.end());
  plan.argv = build_qemu_argv(profile, plan.mdevs, plan.slices, plan.paths);
  plan.profile = std::move(profile);
  return plan;
}

}  // namespace mdevrun

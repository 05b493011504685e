#include "instance/launch_plan.hpp"

#include <sys/un.h>

#include "base/error.hpp"
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

std::vector<std::pair<std::string, std::filesystem::path>> instance_sockets(
    const RuntimeDir& runtime, const Profile& profile, const QemuRuntimePaths& paths) {
  std::vector<std::pair<std::string, std::filesystem::path>> out = {
      {"the supervisor's QMP socket", runtime.monitor_socket(profile.name)},
      {"qemu's monitor socket", paths.qmp_socket},
      {"qemu's second monitor socket", paths.cli_socket}};
  if (profile.serial.mode == SerialMode::console) {
    out.emplace_back("the serial socket", paths.serial_socket);
    out.emplace_back("the console socket", runtime.console_socket(profile.name));
  }
  if (profile.display.backend == DisplayBackend::spice && !profile.display.listen)
    out.emplace_back("the spice socket", paths.spice_socket);
  if (profile.tpm) out.emplace_back("swtpm's socket", paths.tpm_socket);
  for (const auto& s : profile.shares)
    out.emplace_back("the socket of share " + s.tag, paths.share_socket(s.tag));
  return out;
}

void check_socket_paths(const RuntimeDir& runtime, const Profile& profile,
                        const QemuRuntimePaths& paths) {
  constexpr std::size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;
  for (const auto& [what, path] : instance_sockets(runtime, profile, paths)) {
    const std::size_t n = path.native().size();
    if (n <= limit) continue;
    throw Error(ExitCode::usage,
                what + " " + path.string() + " is " + std::to_string(n) +
                    " bytes, longer than a unix socket path may be (" + std::to_string(limit) +
                    "); set MDEVRUN_RUNTIME_DIR to a shorter folder (now " +
                    runtime.parent().string() + ") or give the profile a shorter name");
  }
}

LaunchPlan plan_dry_run(const Host& host, Profile profile) {
  LaunchPlan plan;
  plan.paths = qemu_runtime_paths(host, profile);
  check_socket_paths(RuntimeDir::of(host), profile, plan.paths);
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

#pragma once
// The qemu command line as data: a pure function of the profile, the resolved mdevs and the
// instance's runtime paths. No I/O, deterministic: the same inputs always give the same argv.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "devices/resolved_mdev.hpp"
#include "devices/resolved_slice.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// Files of one running instance that appear on the command line.
struct QemuRuntimePaths {
  std::filesystem::path qmp_socket;    ///< the supervisor's monitor
  std::filesystem::path cli_socket;    ///< a second monitor, direct: `stop`'s fallback
  std::filesystem::path uefi_vars;     ///< per-run copy of the vars template (uefi only)
  std::filesystem::path spice_socket;  ///< local spice display
  /// serial console mode: the supervisor listens here and qemu connects as the client, so no
  /// byte the guest writes before the supervisor is ready is lost.
  std::filesystem::path serial_socket;
  std::filesystem::path instance_dir;  ///< helper sockets and logs (share_socket, swtpm.sock)
  std::filesystem::path tpm_socket;    ///< swtpm's control socket (tpm only)
  std::filesystem::path tpm_state;     ///< swtpm's state folder, kept per profile (tpm only)
  std::filesystem::path profile_vars;  ///< secure boot without `vars`: the profile's kept copy

  /// The vhost-user socket of the share tagged `tag` (a tag is a plain file name: the loader
  /// allows letters, digits, '.', '_', '-').
  std::filesystem::path share_socket(std::string_view tag) const {
    return instance_dir / ("virtiofs-" + std::string(tag) + ".sock");
  }
};

/// argv[0] is the qemu binary. `mdevs` must match `profile.mdevs` one to one, in order, and
/// `slices` `profile.slices` (a profile without slices may omit them).
std::vector<std::string> build_qemu_argv(const Profile& profile,
                                         const std::vector<ResolvedMdev>& mdevs,
                                         const QemuRuntimePaths& paths);
std::vector<std::string> build_qemu_argv(const Profile& profile,
                                         const std::vector<ResolvedMdev>& mdevs,
                                         const std::vector<ResolvedSlice>& slices,
                                         const QemuRuntimePaths& paths);

/// One qemu device as (property, value) pairs, driver first: the same data makes the `-device`
/// option and the device_add arguments of `plug`.
using DeviceProperties = std::vector<std::pair<std::string, std::string>>;

/// The mdev's device: driver, id, sysfsdev, display, rombar, ..., bus (its own slot).
DeviceProperties mdev_device_properties(const Profile& profile, const MdevSpec& spec,
                                        const ResolvedMdev& mdev);

/// A PCI slice's device: vfio-pci (vfio-pci-nohotplug with ramfb), id, host=<address>, display
/// (NVIDIA vGPU only), rombar, ramfb, bus (its own slot).
DeviceProperties slice_device_properties(const Profile& profile, const SliceSpec& spec,
                                         const ResolvedSlice& slice);

/// A profile device: driver, id, its properties, and bus when it has its own slot.
DeviceProperties extra_device_properties(const Profile& profile, const DeviceSpec& spec);

/// "driver,key=value,..." with every value escaped.
std::string device_option(const DeviceProperties& properties);

/// Id of the hot-pluggable slot (pcie-root-port) that holds device `id` on q35.
std::string slot_id(std::string_view id);

/// A value inside a qemu option string: qemu reads ",," as a literal comma.
std::string escape_option_value(std::string_view value);

}  // namespace mdevrun

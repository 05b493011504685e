#pragma once
// A guest profile after loading and validation: plain data, every default applied, every path made
// absolute (relative paths are relative to the profile file that named them). See README "Profile".
// Fixed-choice options are enums; their profile spellings are in profile/profile_choices.hpp.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mdevrun {

enum class OnOffAuto { off, on, automatic };

// In the order the profile documentation and the loader's error messages list them.
enum class MachineType { q35, pc };
enum class DisplayBackend { gtk, sdl, spice_app, spice, egl_headless, vnc, dbus, none };
enum class DiskInterface { virtio, ide, scsi, nvme };
enum class NetworkMode { user, bridge, tap };
enum class FirmwareType { bios, uefi };
// console: qemu's serial goes to the supervisor, which logs it (serial.log in the runtime dir)
// and serves it to `mdevrun console`.
enum class SerialMode { none, stdio, file, console };
/// qemu 7.2's -audiodev drivers that Debian 12 builds (pipewire came in qemu 8.0).
enum class AudioBackend { pa, alsa, jack, oss, sdl, spice, dbus, wav, none };
enum class BootDevice { cdrom, disk, network };
enum class TpmModel { crb, tis };

struct MachineSpec {
  MachineType type = MachineType::q35;
  std::string accel = "kvm";  ///< kvm | tcg | ... (passed to -machine accel=)
  std::string cpu;            ///< default: "host" with kvm, "max" otherwise
  int cpus = 2;
  std::uint64_t memory_mib = 2048;
};

struct MdevSpec {
  std::string id;                     ///< qemu device id, unique in the profile
  std::optional<std::string> parent;  ///< sysfs parent name (e.g. 0000:00:02.0); none: auto-pick
  std::string type;                   ///< mdev type (e.g. i915-GVTg_V4_4)
  std::optional<std::string> uuid;    ///< lower-case; none: derived from the profile name and id
  OnOffAuto display = OnOffAuto::off;
  std::optional<bool> rombar;  ///< none: qemu's default (on)
  bool ramfb = false;          ///< needs vfio-pci-nohotplug: the device cannot be unplugged
  bool x_igd_opregion = false;
  bool vm_uuid = false;  ///< pass the mdev UUID as -uuid (NVIDIA vGPU needs it)
};

// A PCI function given to the guest whole: a virtual function (SR-IOV), an NVIDIA vGPU (a VF with a
// vGPU type set, vGPU 17+) or a whole device taken from its host driver. mdevs stay MdevSpec.
enum class SliceMechanism { vf, nvidia_vgpu, pci };

/// How a slice finds its physical function; every field that is set must match. None set (only
/// for nvidia-vgpu): every PF with NVIDIA's vGPU interface, in address order.
struct PfSelector {
  std::optional<std::string> address;        ///< normalized PCI address
  std::optional<std::string> vendor_device;  ///< "8086:56c0" (lower case)
  std::optional<std::string> driver;         ///< the PF's bound driver, e.g. "xe"
  bool any() const { return address || vendor_device || driver; }
};

struct SliceSpec {
  std::string id;  ///< qemu device id, unique in the profile
  SliceMechanism mechanism = SliceMechanism::vf;
  PfSelector pf;                    ///< vf, nvidia-vgpu
  std::optional<int> numvfs;        ///< VFs the PF must have enabled; none: vf 1, nvidia-vgpu all
  std::optional<int> vf;            ///< vf/nvidia-vgpu: this virtfn index; none: the first free one
  std::optional<int> vgpu_type_id;  ///< nvidia-vgpu: by id ...
  std::optional<std::string> vgpu_type_name;  ///< ... or by name ("NVIDIA L40S-2Q")
  std::string address;                        ///< pci: the device, normalized
  OnOffAuto display = OnOffAuto::off;         ///< nvidia-vgpu only
  bool ramfb = false;                         ///< nvidia-vgpu only (vfio-pci-nohotplug)
  std::optional<bool> rombar;
};

struct DisplaySpec {
  DisplayBackend backend = DisplayBackend::gtk;
  bool gl = false;
  std::optional<std::string> rendernode;  ///< e.g. /dev/dri/renderD128
  std::optional<std::string> listen;      ///< vnc: "host:display"; spice: address
  /// Guest agent channel (clipboard, resize): SPICE's vdagent on spice/spice-app, qemu's own
  /// qemu-vdagent (clipboard) on the other displays.
  bool agent = false;
};

struct DiskSpec {
  std::filesystem::path file;
  std::string format;  ///< default: qcow2 for *.qcow2, raw otherwise
  DiskInterface interface = DiskInterface::virtio;
  bool read_only = false;
  bool snapshot = false;  ///< writes go to a temporary overlay, thrown away on exit
};

struct NetworkSpec {
  NetworkMode mode = NetworkMode::user;  ///< required by the loader: this is no default
  std::string model = "virtio-net-pci";
  std::optional<std::string> mac;
  std::vector<std::string> hostfwd;   ///< user mode: e.g. "tcp::2222-:22"
  std::optional<std::string> bridge;  ///< bridge mode: host bridge name (qemu-bridge-helper)
  std::optional<std::string> ifname;  ///< tap mode: existing tap interface
};

struct FirmwareSpec {
  FirmwareType type = FirmwareType::bios;
  std::filesystem::path code;           ///< uefi: OVMF code (read-only)
  std::filesystem::path vars_template;  ///< uefi: vars copied fresh into the runtime dir per run
  std::filesystem::path vars;           ///< uefi: vars used in place (kept between runs)
  /// Secure boot: SMM on q35, the secure flash; without `vars`, the template is copied once to
  /// the profile's state folder and kept (enrolled keys and boot entries survive a restart).
  bool secure_boot = false;
};

/// A TPM 2.0 emulated by swtpm, its state kept per profile (Host::state_parent()/<name>/tpm).
struct TpmSpec {
  TpmModel model = TpmModel::crb;  ///< default: crb on q35, tis on pc
};

/// A host folder shared with the guest through virtiofsd (`mount -t virtiofs TAG /mnt`).
struct ShareSpec {
  std::filesystem::path source;  ///< absolute, normalized
  std::string tag;               ///< what the guest mounts; unique, at most 36 bytes
  bool read_only = false;        ///< virtiofsd sees a read-only bind mount of `source`
};

/// A host USB device given to the guest: by vendor:product, or by where it is plugged.
struct UsbHostSpec {
  std::optional<std::string> vendor_id, product_id;  ///< "046d", "c52b" (lower case hex)
  std::optional<int> bus;                            ///< with `port`: hostbus
  std::optional<std::string> port;                   ///< "1.2": hostport
};

struct UsbSpec {
  int redirect = 0;  ///< SPICE USB redirection channels (usbredir), each an usb-redir device
  std::vector<UsbHostSpec> host;
};

struct AudioSpec {
  AudioBackend backend = AudioBackend::pa;
};

struct KernelSpec {
  std::filesystem::path image;
  std::optional<std::filesystem::path> initrd;
  std::optional<std::string> append;
};

struct SerialSpec {
  SerialMode mode = SerialMode::console;
  std::filesystem::path path;  ///< file mode
};

struct DeviceSpec {
  std::string id;
  std::string driver;
  std::map<std::string, std::string> properties;  ///< sorted: argv order is deterministic
  bool slot = false;  ///< PCI device that gets its own hot-pluggable slot (like an mdev)
};

struct QemuSpec {
  std::string binary = "qemu-system-x86_64";
  std::vector<std::string> args;  ///< appended verbatim after everything mdevrun generates
};

struct Profile {
  std::filesystem::path file;  ///< the profile file it was loaded from (absolute)
  std::string name;
  MachineSpec machine;
  std::vector<MdevSpec> mdevs;
  std::vector<SliceSpec> slices;  ///< argv order: after every mdev
  DisplaySpec display;
  std::vector<DiskSpec> disks;
  std::vector<NetworkSpec> network;
  FirmwareSpec firmware;
  std::optional<KernelSpec> kernel;
  SerialSpec serial;
  std::vector<DeviceSpec> devices;
  QemuSpec qemu;
  std::optional<TpmSpec> tpm;
  std::vector<ShareSpec> shares;
  UsbSpec usb;
  std::optional<AudioSpec> audio;
  std::optional<std::filesystem::path> cdrom;  ///< an ISO image, read-only
  std::vector<BootDevice> boot;                ///< boot order; empty: the firmware's own
};

}  // namespace mdevrun

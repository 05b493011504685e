#include "profile/profile_choices.hpp"

#include <stdexcept>

namespace mdevrun {
namespace {

constexpr Choice<MachineType> kMachineTypes[] = {
    {MachineType::q35, "q35"},
    {MachineType::pc, "pc"},
};

constexpr Choice<DisplayBackend> kDisplayBackends[] = {
    {DisplayBackend::gtk, "gtk"},
    {DisplayBackend::sdl, "sdl"},
    {DisplayBackend::spice_app, "spice-app"},
    {DisplayBackend::spice, "spice"},
    {DisplayBackend::egl_headless, "egl-headless"},
    {DisplayBackend::vnc, "vnc"},
    {DisplayBackend::dbus, "dbus"},
    {DisplayBackend::none, "none"},
};

constexpr Choice<DiskInterface> kDiskInterfaces[] = {
    {DiskInterface::virtio, "virtio"},
    {DiskInterface::ide, "ide"},
    {DiskInterface::scsi, "scsi"},
    {DiskInterface::nvme, "nvme"},
};

constexpr Choice<NetworkMode> kNetworkModes[] = {
    {NetworkMode::user, "user"},
    {NetworkMode::bridge, "bridge"},
    {NetworkMode::tap, "tap"},
};

constexpr Choice<FirmwareType> kFirmwareTypes[] = {
    {FirmwareType::bios, "bios"},
    {FirmwareType::uefi, "uefi"},
};

constexpr Choice<SerialMode> kSerialModes[] = {
    {SerialMode::none, "none"},
    {SerialMode::stdio, "stdio"},
    {SerialMode::file, "file"},
    {SerialMode::console, "console"},
};

constexpr Choice<SliceMechanism> kSliceMechanisms[] = {
    {SliceMechanism::vf, "vf"},
    {SliceMechanism::nvidia_vgpu, "nvidia-vgpu"},
    {SliceMechanism::pci, "pci"},
};

constexpr Choice<AudioBackend> kAudioBackends[] = {
    {AudioBackend::pa, "pa"},     {AudioBackend::alsa, "alsa"}, {AudioBackend::jack, "jack"},
    {AudioBackend::oss, "oss"},   {AudioBackend::sdl, "sdl"},   {AudioBackend::spice, "spice"},
    {AudioBackend::dbus, "dbus"}, {AudioBackend::wav, "wav"},   {AudioBackend::none, "none"},
};

constexpr Choice<BootDevice> kBootDevices[] = {
    {BootDevice::cdrom, "cdrom"},
    {BootDevice::disk, "disk"},
    {BootDevice::network, "network"},
};

constexpr Choice<TpmModel> kTpmModels[] = {
    {TpmModel::crb, "crb"},
    {TpmModel::tis, "tis"},
};

template <typename E>
std::string spelling_of(E value, const char* what) {
  for (const auto& c : choices<E>())
    if (c.value == value) return std::string(c.spelling);
  // Only a value cast from an integer, or one added to the enum but not to its table, gets here.
  throw std::logic_error(std::string("no spelling for ") + what + " value " +
                         std::to_string(static_cast<int>(value)));
}

}  // namespace

template <>
std::span<const Choice<MachineType>> choices<MachineType>() {
  return kMachineTypes;
}
template <>
std::span<const Choice<DisplayBackend>> choices<DisplayBackend>() {
  return kDisplayBackends;
}
template <>
std::span<const Choice<DiskInterface>> choices<DiskInterface>() {
  return kDiskInterfaces;
}
template <>
std::span<const Choice<NetworkMode>> choices<NetworkMode>() {
  return kNetworkModes;
}
template <>
std::span<const Choice<FirmwareType>> choices<FirmwareType>() {
  return kFirmwareTypes;
}
template <>
std::span<const Choice<SerialMode>> choices<SerialMode>() {
  return kSerialModes;
}

template <>
std::span<const Choice<SliceMechanism>> choices<SliceMechanism>() {
  return kSliceMechanisms;
}

template <>
std::span<const Choice<AudioBackend>> choices<AudioBackend>() {
  return kAudioBackends;
}
template <>
std::span<const Choice<BootDevice>> choices<BootDevice>() {
  return kBootDevices;
}
template <>
std::span<const Choice<TpmModel>> choices<TpmModel>() {
  return kTpmModels;
}

std::string to_string(AudioBackend value) {
  return spelling_of(value, "audio.backend");
}
std::string to_string(BootDevice value) {
  return spelling_of(value, "boot[]");
}
std::string to_string(TpmModel value) {
  return spelling_of(value, "tpm.model");
}

std::string to_string(MachineType value) {
  return spelling_of(value, "machine.type");
}
std::string to_string(DisplayBackend value) {
  return spelling_of(value, "display.backend");
}
std::string to_string(DiskInterface value) {
  return spelling_of(value, "disks[].interface");
}
std::string to_string(NetworkMode value) {
  return spelling_of(value, "network[].mode");
}
std::string to_string(FirmwareType value) {
  return spelling_of(value, "firmware.type");
}
std::string to_string(SerialMode value) {
  return spelling_of(value, "serial.mode");
}
std::string to_string(SliceMechanism value) {
  return spelling_of(value, "slices[].mechanism");
}

}  // namespace mdevrun

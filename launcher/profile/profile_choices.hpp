#pragma once
// How a profile spells its fixed-choice options (machine.type, display.backend, disks[].interface,
// network[].mode, firmware.type, serial.mode, slices[].mechanism, audio.backend, boot[],
// tpm.model). One table per enum in profile_choices.cpp is the only place the JSON spellings are
// written: the loader parses with it, its error messages list it in table order, and to_string
// gives the same words back (for messages and `status` output). Pure and thread-safe. A value
// missing from its table is a bug: to_string throws std::logic_error for it, and the unit tests
// round-trip every value.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace mdevrun {

/// One value of a fixed-choice option and how a profile writes it.
template <typename E>
struct Choice {
  E value;
  std::string_view spelling;
};

/// Every value of E with its spelling, in the order the documentation lists them. Only the ten
/// enums named at the top have a table (another E does not link).
template <typename E>
std::span<const Choice<E>> choices();

template <>
std::span<const Choice<MachineType>> choices<MachineType>();
template <>
std::span<const Choice<DisplayBackend>> choices<DisplayBackend>();
template <>
std::span<const Choice<DiskInterface>> choices<DiskInterface>();
template <>
std::span<const Choice<NetworkMode>> choices<NetworkMode>();
template <>
std::span<const Choice<FirmwareType>> choices<FirmwareType>();
template <>
std::span<const Choice<SerialMode>> choices<SerialMode>();
template <>
std::span<const Choice<SliceMechanism>> choices<SliceMechanism>();
template <>
std::span<const Choice<AudioBackend>> choices<AudioBackend>();
template <>
std::span<const Choice<BootDevice>> choices<BootDevice>();
template <>
std::span<const Choice<TpmModel>> choices<TpmModel>();

/// The profile's spelling of `value`: "q35", "spice-app", "egl-headless", ...
std::string to_string(MachineType value);
std::string to_string(DisplayBackend value);
std::string to_string(DiskInterface value);
std::string to_string(NetworkMode value);
std::string to_string(FirmwareType value);
std::string to_string(SerialMode value);
std::string to_string(SliceMechanism value);  ///< "vf", "nvidia-vgpu", "pci"
std::string to_string(AudioBackend value);    ///< qemu's -audiodev driver name
std::string to_string(BootDevice value);
std::string to_string(TpmModel value);  ///< "crb", "tis"

/// The value spelled exactly `spelling` (case-sensitive, as profiles are); none otherwise.
template <typename E>
std::optional<E> parse_choice(std::string_view spelling) {
  for (const auto& c : choices<E>())
    if (c.spelling == spelling) return c.value;
  return std::nullopt;
}

/// The spellings of E in table order: what an error message offers and did-you-mean picks from.
template <typename E>
std::vector<std::string> choice_spellings() {
  std::vector<std::string> out;
  for (const auto& c : choices<E>()) out.emplace_back(c.spelling);
  return out;
}

}  // namespace mdevrun

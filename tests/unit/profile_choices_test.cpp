#include "profile/profile_choices.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mdevrun {
namespace {

// `expected` is written out by hand: the spellings and their order are part of the profile format
// (README, schema, the loader's "is not one of" messages), not whatever the table says.
template <typename E>
void expect_table(const std::vector<std::pair<E, std::string>>& expected) {
  std::vector<std::pair<E, std::string>> table;
  for (const auto& c : choices<E>()) table.emplace_back(c.value, std::string(c.spelling));
  EXPECT_EQ(table, expected);
  std::vector<std::string> spellings;
  for (const auto& [value, spelling] : expected) {
    EXPECT_EQ(to_string(value), spelling);
    EXPECT_EQ(parse_choice<E>(spelling), value) << spelling;
    spellings.push_back(spelling);
  }
  EXPECT_EQ(choice_spellings<E>(), spellings);
}

TEST(ProfileChoices, MachineTypesRoundTrip) {
  expect_table<MachineType>({{MachineType::q35, "q35"}, {MachineType::pc, "pc"}});
}

TEST(ProfileChoices, DisplayBackendsRoundTrip) {
  expect_table<DisplayBackend>({{DisplayBackend::gtk, "gtk"},
                                {DisplayBackend::sdl, "sdl"},
                                {DisplayBackend::spice_app, "spice-app"},
                                {DisplayBackend::spice, "spice"},
                                {DisplayBackend::egl_headless, "egl-headless"},
                                {DisplayBackend::vnc, "vnc"},
                                {DisplayBackend::dbus, "dbus"},
                                {DisplayBackend::none, "none"}});
}

TEST(ProfileChoices, DiskInterfacesRoundTrip) {
  expect_table<DiskInterface>({{DiskInterface::virtio, "virtio"},
                               {DiskInterface::ide, "ide"},
                               {DiskInterface::scsi, "scsi"},
                               {DiskInterface::nvme, "nvme"}});
}

TEST(ProfileChoices, NetworkModesRoundTrip) {
  expect_table<NetworkMode>(
      {{NetworkMode::user, "user"}, {NetworkMode::bridge, "bridge"}, {NetworkMode::tap, "tap"}});
}

TEST(ProfileChoices, AudioBackendsBootDevicesAndTpmModelsRoundTrip) {
  expect_table<AudioBackend>({{AudioBackend::pa, "pa"},
                              {AudioBackend::alsa, "alsa"},
                              {AudioBackend::jack, "jack"},
                              {AudioBackend::oss, "oss"},
                              {AudioBackend::sdl, "sdl"},
                              {AudioBackend::spice, "spice"},
                              {AudioBackend::dbus, "dbus"},
                              {AudioBackend::wav, "wav"},
                              {AudioBackend::none, "none"}});
  expect_table<BootDevice>(
      {{BootDevice::cdrom, "cdrom"}, {BootDevice::disk, "disk"}, {BootDevice::network, "network"}});
  expect_table<TpmModel>({{TpmModel::crb, "crb"}, {TpmModel::tis, "tis"}});
}

TEST(ProfileChoices, FirmwareTypesRoundTrip) {
  expect_table<FirmwareType>({{FirmwareType::bios, "bios"}, {FirmwareType::uefi, "uefi"}});
}

TEST(ProfileChoices, SerialModesRoundTrip) {
  expect_table<SerialMode>({{SerialMode::none, "none"},
                            {SerialMode::stdio, "stdio"},
                            {SerialMode::file, "file"},
                            {SerialMode::console, "console"}});
}

// Profiles are case-sensitive and spell words with '-': the C++ names and near misses are not
// spellings.
TEST(ProfileChoices, UnknownSpellingsAreRejected) {
  EXPECT_EQ(parse_choice<MachineType>("Q35"), std::nullopt);
  EXPECT_EQ(parse_choice<MachineType>("isapc"), std::nullopt);
  EXPECT_EQ(parse_choice<DisplayBackend>("spice_app"), std::nullopt);
  EXPECT_EQ(parse_choice<DisplayBackend>("egl_headless"), std::nullopt);
  EXPECT_EQ(parse_choice<DisplayBackend>("GTK"), std::nullopt);
  EXPECT_EQ(parse_choice<DisplayBackend>(""), std::nullopt);
  EXPECT_EQ(parse_choice<DiskInterface>("sata"), std::nullopt);
  EXPECT_EQ(parse_choice<NetworkMode>("passt"), std::nullopt);
  EXPECT_EQ(parse_choice<FirmwareType>("efi"), std::nullopt);
  EXPECT_EQ(parse_choice<SerialMode>("pty"), std::nullopt);
  EXPECT_EQ(parse_choice<SerialMode>("none "), std::nullopt);
}

// 3 is inside NetworkMode's range of values (two bits), so the cast itself is well defined.
TEST(ProfileChoices, ValueWithoutSpellingIsABug) {
  EXPECT_THROW(to_string(static_cast<NetworkMode>(3)), std::logic_error);
}

// The schema (profiles/profile.schema.json) is the second written copy of the spellings: it must
// list exactly the table's, in the same order, or editors and the loader disagree.
const nlohmann::json& schema() {
  static const nlohmann::json s = [] {
    std::ifstream in(std::string(MDEVRUN_SOURCE_DIR) + "/profiles/profile.schema.json");
    return nlohmann::json::parse(in);
  }();
  return s;
}

template <typename E>
void expect_schema(const char* pointer) {
  const auto enum_ = schema().at(nlohmann::json::json_pointer(pointer));
  EXPECT_EQ(enum_.get<std::vector<std::string>>(), choice_spellings<E>()) << pointer;
}

TEST(ProfileChoices, SchemaListsTheSameSpellings) {
  expect_schema<MachineType>("/properties/machine/properties/type/enum");
  expect_schema<DisplayBackend>("/properties/display/properties/backend/enum");
  expect_schema<DiskInterface>("/properties/disks/items/properties/interface/enum");
  expect_schema<NetworkMode>("/properties/network/items/properties/mode/enum");
  expect_schema<FirmwareType>("/properties/firmware/properties/type/enum");
  expect_schema<SerialMode>("/properties/serial/oneOf/1/properties/mode/enum");
  expect_schema<AudioBackend>("/properties/audio/properties/backend/enum");
  expect_schema<BootDevice>("/properties/boot/items/enum");
  expect_schema<TpmModel>("/properties/tpm/oneOf/1/properties/model/enum");
}

}  // namespace
}  // namespace mdevrun

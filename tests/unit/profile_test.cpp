#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

Profile parse(const std::string& text) {
  return profile_from_document(parse_profile_document(text, "vm.json", "/p"));
}

// The exact error text, as the user sees it.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    return e.what();
  }
  return "<no error>";
}

TEST(Profile, MinimalProfileGetsDocumentedDefaults) {
  const Profile p = parse(R"({"name": "vm"})");
  EXPECT_EQ(p.machine.type, MachineType::q35);
  EXPECT_EQ(p.machine.accel, "kvm");
  EXPECT_EQ(p.machine.cpu, "host");
  EXPECT_EQ(p.machine.cpus, 2);
  EXPECT_EQ(p.machine.memory_mib, 2048u);
  EXPECT_EQ(p.display.backend, DisplayBackend::gtk);
  EXPECT_FALSE(p.display.gl);
  EXPECT_EQ(p.firmware.type, FirmwareType::bios);
  EXPECT_EQ(p.serial.mode, SerialMode::console);
  EXPECT_EQ(p.qemu.binary, "qemu-system-x86_64");
}

TEST(Profile, TcgDefaultsToTheMaxCpu) {
  EXPECT_EQ(parse(R"({"name": "vm", "machine": {"accel": "tcg"}})").machine.cpu, "max");
}

TEST(Profile, CommentsAreAllowed) {
  const Profile p = parse("// a VM\n{ /* the name */ \"name\": \"vm\" // trailing\n}");
  EXPECT_EQ(p.name, "vm");
}

TEST(Profile, UpperCaseUuidIsStoredLowerCase) {
  const Profile p = parse(R"({"name": "vm", "mdevs": [{"id": "g", "type": "t",
      "uuid": "4DD50F26-EC08-11E8-B838-4BC3356865B6"}]})");
  EXPECT_EQ(p.mdevs[0].uuid, "4dd50f26-ec08-11e8-b838-4bc3356865b6");
}

TEST(Profile, ShortPciAddressGetsDomain) {
  const Profile p =
      parse(R"({"name": "vm", "mdevs": [{"id": "g", "type": "t", "parent": "00:02.0"}]})");
  EXPECT_EQ(p.mdevs[0].parent, "0000:00:02.0");
}

TEST(Profile, Sizes) {
  EXPECT_EQ(parse_size_mib("4G"), 4096u);
  EXPECT_EQ(parse_size_mib("512M"), 512u);
  EXPECT_EQ(parse_size_mib("512MiB"), 512u);
  EXPECT_EQ(parse_size_mib("2048"), 2048u);
  EXPECT_EQ(parse_size_mib("1T"), 1048576u);
  EXPECT_EQ(parse_size_mib("0"), std::nullopt);
  EXPECT_EQ(parse_size_mib("4X"), std::nullopt);
  EXPECT_EQ(parse_size_mib("1.5G"), std::nullopt);
  EXPECT_EQ(parse_size_mib("100K"), std::nullopt);
  EXPECT_EQ(parse_size_mib(""), std::nullopt);
}

TEST(ProfileErrors, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(error_of("{\n  \"name\": \"vm\",\n}"), "vm.json:3:1: trailing comma before '}'");
  EXPECT_EQ(error_of("{\"name\": \"vm\", \"name\": \"x\"}"),
            "vm.json:1:16: duplicate key \"name\"");
}

TEST(ProfileErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(error_of("{\"name\": \"vm\",\n \"mdevs\": [{\"id\": \"g\", \"type\": \"t\",\n"
                     "  \"rombarr\": false}]}"),
            "vm.json:3: /mdevs/0/rombarr: unknown key \"rombarr\"; did you mean \"rombar\"?");
  EXPECT_EQ(error_of(R"({"name": "vm", "Machine": {}})"),
            "vm.json:1: /Machine: unknown key \"Machine\"; did you mean \"machine\"?");
}

TEST(ProfileErrors, WrongType) {
  EXPECT_EQ(error_of("{\"name\": \"vm\",\n \"machine\": {\"cpus\": \"4\"}}"),
            "vm.json:2: /machine/cpus: expected a whole number from 1 to 1024, got \"4\"");
  EXPECT_EQ(error_of(R"({"name": 7})"), "vm.json:1: /name: expected a string, got a number");
}

TEST(ProfileErrors, MissingName) {
  EXPECT_EQ(error_of("{}"), "vm.json:1: /: missing required key \"name\"");
}

TEST(ProfileErrors, BadUuid) {
  EXPECT_EQ(error_of("{\"name\": \"vm\", \"mdevs\": [\n{\"id\": \"g\", \"type\": \"t\",\n"
                     "\"uuid\": \"4dd5\"}]}"),
            "vm.json:3: /mdevs/0/uuid: \"4dd5\" is not a UUID; expected 8-4-4-4-12 hex digits "
            "like \"4dd50f26-ec08-11e8-b838-4bc3356865b6\" (`uuidgen` makes one)");
}

TEST(ProfileErrors, ParentMustBeAPlainSysfsName) {
  EXPECT_EQ(error_of(R"({"name": "vm", "mdevs": [{"id": "g", "type": "t", "parent": "../../x"}]})"),
            "vm.json:1: /mdevs/0/parent: \"../../x\" is not a sysfs device name; use the name "
            "under /sys/class/mdev_bus, e.g. \"0000:00:02.0\" (no '/' or '..')");
  EXPECT_EQ(
      error_of(R"({"name": "vm", "mdevs": [{"id": "g", "type": "t", "parent": "0000:00:99.0"}]})"),
      "vm.json:1: /mdevs/0/parent: \"0000:00:99.0\" is not a PCI address; expected "
      "domain:bus:device.function like \"0000:00:02.0\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "mdevs": [{"id": "g", "type": ".."}]})"),
            "vm.json:1: /mdevs/0/type: \"..\" is not an mdev type name; see `mdevrun types` (no "
            "'/' or '..')");
}

// Regression: the JSON reader yields signed integers, and an unsigned-only check rejected 4096.
TEST(Profile, MemoryAsAWholeNumberOfMiB) {
  EXPECT_EQ(parse(R"({"name": "vm", "machine": {"memory": 4096}})").machine.memory_mib, 4096u);
  for (const char* bad : {"0", "-1", "4096.5", "true"}) {
    const std::string text = std::string(R"({"name": "vm", "machine": {"memory": )") + bad + "}}";
    EXPECT_NE(error_of(text).find("/machine/memory: " + std::string(bad) + " is not a memory size"),
              std::string::npos)
        << bad;
  }
}

TEST(ProfileErrors, BadSize) {
  EXPECT_EQ(error_of(R"({"name": "vm", "machine": {"memory": "4 GB"}})"),
            "vm.json:1: /machine/memory: \"4 GB\" is not a memory size; use a whole number of MiB "
            "or a size like \"512M\", \"4G\"");
}

TEST(ProfileErrors, IdsQemuWouldReject) {
  EXPECT_EQ(error_of(R"({"name": "vm", "devices": [{"id": "0tab", "driver": "usb-tablet"}]})"),
            "vm.json:1: /devices/0/id: \"0tab\" is not an id qemu accepts; start with a letter, "
            "then letters, digits, '-', '.' or '_'");
  EXPECT_EQ(error_of(R"({"name": "vm", "devices": [{"id": "mdevrun-x", "driver": "usb-tablet"}]})"),
            "vm.json:1: /devices/0/id: ids starting with \"mdevrun-\" are reserved for devices "
            "mdevrun adds");
}

TEST(ProfileErrors, DuplicateIds) {
  EXPECT_EQ(error_of("{\"name\": \"vm\", \"mdevs\": [{\"id\": \"g\", \"type\": \"t\"}],\n"
                     "\"devices\": [{\"id\": \"g\", \"driver\": \"usb-tablet\"}]}"),
            "vm.json:2: /devices/0/id: duplicate id \"g\" (also used at /mdevs/0); every mdev and "
            "device needs its own id");
}

TEST(ProfileErrors, RamfbNeedsDisplay) {
  EXPECT_EQ(error_of(R"({"name": "vm", "mdevs": [{"id": "g", "type": "t", "ramfb": true}]})"),
            "vm.json:1: /mdevs/0/ramfb: ramfb needs \"display\": \"on\" on this mdev (ramfb shows "
            "the boot display through the mdev's display); note that ramfb uses "
            "vfio-pci-nohotplug, so such a device cannot be unplugged");
}

TEST(ProfileErrors, EnumWithSuggestion) {
  EXPECT_EQ(error_of(R"({"name": "vm", "display": {"backend": "GTK"}})"),
            "vm.json:1: /display/backend: \"GTK\" is not one of \"gtk\", \"sdl\", \"spice-app\", "
            "\"spice\", \"egl-headless\", \"vnc\", \"dbus\" or \"none\"; did you mean \"gtk\"?");
}

TEST(ProfileErrors, EveryProblemIsReportedOneLineEach) {
  const std::string e = error_of("{\"name\": \"a b\",\n\"machine\": {\"type\": \"isapc\"}}");
  EXPECT_EQ(e,
            "vm.json:1: /name: \"a b\" is not a valid instance name; use 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit\n"
            "vm.json:2: /machine/type: \"isapc\" is not one of \"q35\" or \"pc\"");
}

TEST(ProfileErrors, GlOnVnc) {
  EXPECT_EQ(error_of(R"({"name": "vm", "display": {"backend": "vnc", "gl": true}})"),
            "vm.json:1: /display/gl: the \"vnc\" display has no OpenGL; use gtk, sdl, spice-app, "
            "spice, egl-headless or dbus for gl");
}

class ProfileFiles : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"mdevrun-profile-test"};
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string error_of_file(const std::string& name) {
    try {
      load_profile(dir_ / name);
    } catch (const Error& e) {
      return e.what();
    }
    return "<no error>";
  }
  const fs::path dir_ = tmp_.path();
};

TEST_F(ProfileFiles, ExtendsMergesAndNamesTheFileOfEachValue) {
  write("base.json",
        "{\"name\": \"base\",\n\"machine\": {\"cpus\": 4, \"memory\": \"1G\"},\n"
        "\"disks\": [{\"file\": \"root.img\"}]}");
  write("child.json",
        "{\"extends\": \"base.json\", \"name\": \"child\",\n"
        "\"machine\": {\"memory\": \"2G\"}}");
  const Profile p = load_profile(dir_ / "child.json");
  EXPECT_EQ(p.name, "child");
  EXPECT_EQ(p.machine.cpus, 4);
  EXPECT_EQ(p.machine.memory_mib, 2048u);
  EXPECT_EQ(p.disks.at(0).file, dir_ / "root.img");

  write("bad-base.json", "{\"name\": \"b\",\n\"machine\": {\"cpus\": 0}}");
  write("child2.json", "{\"extends\": \"bad-base.json\", \"name\": \"child\"}");
  EXPECT_EQ(error_of_file("child2.json"),
            (dir_ / "bad-base.json").string() +
                ":2: /machine/cpus: expected a whole number from 1 to 1024, got 0");
}

TEST_F(ProfileFiles, ExtendsCycleIsAnError) {
  write("a.json", "{\"extends\": \"b.json\", \"name\": \"a\"}");
  write("b.json", "{\n\"extends\": \"a.json\", \"name\": \"b\"}");
  EXPECT_EQ(error_of_file("a.json"),
            (dir_ / "b.json").string() +
                ":2: /extends: extends cycle: a.json -> b.json -> a.json; a profile cannot extend "
                "itself through its bases");
}

TEST_F(ProfileFiles, MissingFileAndMissingBase) {
  EXPECT_EQ(error_of_file("nope.json"),
            "cannot read profile " + (dir_ / "nope.json").string() + ": No such file or directory");
  write("c.json", "{\"extends\": \"gone.json\", \"name\": \"c\"}");
  EXPECT_EQ(error_of_file("c.json"),
            (dir_ / "c.json").string() + ":1: /extends: cannot read profile " +
                (dir_ / "gone.json").string() + ": No such file or directory");
}

TEST_F(ProfileFiles, NullInChildRemovesABaseKey) {
  write("base.json", R"({"name": "b", "kernel": {"image": "k", "append": "quiet"}})");
  write("child.json", R"({"extends": "base.json", "name": "c", "kernel": {"append": null}})");
  EXPECT_FALSE(load_profile(dir_ / "child.json").kernel->append.has_value());
}

// Regression: arrays were replaced wholesale, so a child that added one device lost the base's.
TEST_F(ProfileFiles, ExtendsMergesArraysOfIdsById) {
  write("base.json",
        "{\"name\": \"b\", \"machine\": {\"type\": \"q35\"},\n"
        "\"devices\": [{\"id\": \"xhci\", \"driver\": \"qemu-xhci\"},\n"
        "  {\"id\": \"tablet0\", \"driver\": \"usb-tablet\", \"properties\": {\"bus\": "
        "\"xhci.0\"}}],\n"
        "\"disks\": [{\"file\": \"a.img\"}, {\"file\": \"b.img\"}]}");
  write("child.json",
        "{\"extends\": \"base.json\", \"name\": \"c\",\n"
        "\"devices\": [{\"id\": \"kbd0\", \"driver\": \"usb-kbd\", \"properties\": {\"bus\": "
        "\"xhci.0\"}},\n"
        "  {\"id\": \"tablet0\", \"properties\": {\"bus\": \"xhci.1\"}}],\n"
        "\"disks\": [{\"file\": \"c.img\"}]}");
  const Profile p = load_profile(dir_ / "child.json");
  ASSERT_EQ(p.devices.size(), 3u);
  EXPECT_EQ(p.devices[0].id, "xhci");  // base order first, then the child's new ones
  EXPECT_EQ(p.devices[1].id, "tablet0");
  EXPECT_EQ(p.devices[1].driver, "usb-tablet");            // kept from the base
  EXPECT_EQ(p.devices[1].properties.at("bus"), "xhci.1");  // the child's override
  EXPECT_EQ(p.devices[2].id, "kbd0");
  ASSERT_EQ(p.disks.size(), 1u);  // no ids: still replaced, as RFC 7386 does
  EXPECT_EQ(p.disks[0].file, dir_ / "c.img");
}

TEST_F(ProfileFiles, ExtendsIdMapRemovesWithNullAndKeepsOrigins) {
  write("base.json",
        "{\"name\": \"b\",\n"
        "\"devices\": [{\"id\": \"xhci\", \"driver\": \"qemu-xhci\"},\n"
        "  {\"id\": \"tablet0\", \"driver\": \"usb-tablet\", \"properties\": {\"bus\": "
        "\"xhci.0\"}}]}");
  write("child.json",
        "{\"extends\": \"base.json\", \"name\": \"c\",\n"
        "\"devices\": {\"tablet0\": null,\n"
        "  \"net9\": {\"driver\": \"e1000\", \"properties\": {\"rombar\": 2.5}}}}");
  // The error of a merged-in value names the child file and line, at its merged index.
  EXPECT_EQ(error_of_file("child.json"),
            (dir_ / "child.json").string() +
                ":3: /devices/1/properties/rombar: expected a string, a whole number or a boolean, "
                "got a number");
  write("child2.json",
        "{\"extends\": \"base.json\", \"name\": \"c\", \"devices\": {\"tablet0\": null}}");
  const Profile p = load_profile(dir_ / "child2.json");
  ASSERT_EQ(p.devices.size(), 1u);
  EXPECT_EQ(p.devices[0].id, "xhci");
  write("child3.json",
        "{\"extends\": \"base.json\", \"name\": \"c\",\n\"devices\": {\"tablte0\": null}}");
  EXPECT_NE(
      error_of_file("child3.json")
          .find(":2: /devices/tablte0: null removes an element the base defines, but the base "
                "has no \"tablte0\" (it has: xhci, tablet0)"),
      std::string::npos)
      << error_of_file("child3.json");
}

// Regression: a reference to a controller the profile no longer defines reached qemu unnoticed.
TEST_F(ProfileFiles, ReferenceToAnUndefinedIdIsAnError) {
  write("base.json",
        "{\"name\": \"b\", \"devices\": [{\"id\": \"xhci\", \"driver\": \"qemu-xhci\"}]}");
  write("child.json",
        "{\"extends\": \"base.json\", \"name\": \"c\",\n"
        "\"devices\": {\"xhci\": null, \"tablet0\": {\"driver\": \"usb-tablet\",\n"
        "  \"properties\": {\"bus\": \"xhci.0\"}}}}");
  EXPECT_EQ(
      error_of_file("child.json"),
      (dir_ / "child.json").string() +
          ":3: /devices/0/properties/bus: \"xhci.0\" names no device of this profile (the bus "
          "of a device \"xhci\"): define a device with \"id\": \"xhci\" or fix the reference "
          "(ids: tablet0)");
  // Defined in the base, by qemu.args, by the machine, or by mdevrun itself: all fine.
  write(
      "ok.json",
      "{\"extends\": \"base.json\", \"name\": \"c\", \"devices\": [\n"
      "  {\"id\": \"tablet0\", \"driver\": \"usb-tablet\", \"properties\": {\"bus\": "
      "\"xhci.0\"}},\n"
      "  {\"id\": \"con0\", \"driver\": \"virtconsole\", \"properties\": {\"chardev\": \"ch0\"}},\n"
      "  {\"id\": \"nic1\", \"driver\": \"e1000\", \"properties\": {\"bus\": \"pcie.0\"}},\n"
      "  {\"id\": \"d2\", \"driver\": \"virtio-blk-pci\", \"properties\": {\"drive\": "
      "\"mdevrun-drive0\"}}],\n"
      "\"qemu\": {\"args\": [\"-chardev\", \"socket,id=ch0,path=/tmp/c.sock,server=on\"]}}");
  EXPECT_NO_THROW(load_profile(dir_ / "ok.json"));
  write("typo.json",
        "{\"extends\": \"base.json\", \"name\": \"c\", \"devices\": [\n"
        "  {\"id\": \"t0\", \"driver\": \"usb-tablet\", \"properties\": {\"bus\": \"xhic.0\"}}]}");
  EXPECT_NE(error_of_file("typo.json").find("did you mean \"xhci\"?"), std::string::npos)
      << error_of_file("typo.json");
}

}  // namespace
}  // namespace mdevrun

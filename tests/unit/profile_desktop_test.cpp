// The desktop and dev-VM keys (issue 16): tpm, firmware.secure-boot, shares, display.agent,
// usb.redirect/host, audio, cdrom, boot. Their argv, their helpers' argv, and every mistake's
// one-line error naming the JSON pointer.
#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.hpp"
#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"
#include "qemu/helper_cmdline.hpp"
#include "qemu/qemu_cmdline.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

Profile parse(const std::string& text) {
  return profile_from_document(parse_profile_document(text, "vm.json", "/p"));
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    return e.what();
  }
  return "<no error>";
}

QemuRuntimePaths paths() {
  const fs::path dir = "/run/mdevrun/vm";
  return {dir / "qmp.sock",   dir / "qmp-cli.sock", dir / "OVMF_VARS.fd",
          dir / "spice.sock", dir / "serial.sock",  dir,
          dir / "swtpm.sock", "/st/vm/tpm",         "/st/vm/OVMF_VARS.fd"};
}

// The serial console (the default) adds a chardev of its own; these tests look at the new keys'.
std::vector<std::string> argv_of(const std::string& text) {
  Profile p = parse(text);
  p.serial.mode = SerialMode::none;
  return build_qemu_argv(p, {}, paths());
}

// The value after each `option` in argv, in order.
std::vector<std::string> values(const std::vector<std::string>& argv, const std::string& option) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option) out.push_back(argv[i + 1]);
  return out;
}

using Strings = std::vector<std::string>;

TEST(ProfileDesktop, SecureBootImpliesUefiSmmAndTheMicrosoftKeysKeptPerProfile) {
  const Profile p = parse(R"({"name": "vm", "firmware": {"secure-boot": true}})");
  EXPECT_EQ(p.firmware.type, FirmwareType::uefi);
  EXPECT_EQ(p.firmware.code, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
  EXPECT_EQ(p.firmware.vars_template, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  const auto argv = argv_of(R"({"name": "vm", "firmware": {"secure-boot": true}})");
  EXPECT_EQ(values(argv, "-machine"), Strings{"q35,smm=on"});
  EXPECT_EQ(values(argv, "-global"), Strings{"driver=cfi.pflash01,property=secure,value=on"});
  EXPECT_EQ(values(argv, "-drive").at(1), "if=pflash,format=raw,unit=1,file=/st/vm/OVMF_VARS.fd");
  // Plain UEFI keeps its per-run copy.
  EXPECT_EQ(values(argv_of(R"({"name": "vm", "firmware": {"type": "uefi"}})"), "-drive").at(1),
            "if=pflash,format=raw,unit=1,file=/run/mdevrun/vm/OVMF_VARS.fd");
}

TEST(ProfileDesktop, TpmIsAnEmulatorChardevOnSwtpmsSocket) {
  const auto argv = argv_of(R"({"name": "vm", "tpm": true})");
  EXPECT_EQ(values(argv, "-chardev"),
            Strings{"socket,id=mdevrun-tpm-chr,path=/run/mdevrun/vm/swtpm.sock"});
  EXPECT_EQ(values(argv, "-tpmdev"), Strings{"emulator,id=mdevrun-tpm,chardev=mdevrun-tpm-chr"});
  EXPECT_EQ(values(argv, "-device"), Strings{"tpm-crb,id=mdevrun-tpm0,tpmdev=mdevrun-tpm"});
  EXPECT_EQ(values(argv_of(R"({"name": "vm", "machine": {"type": "pc"}, "tpm": true})"), "-device"),
            Strings{"tpm-tis,id=mdevrun-tpm0,tpmdev=mdevrun-tpm"});
  EXPECT_FALSE(parse(R"({"name": "vm", "tpm": false})").tpm);
  const auto helpers = helper_commands(parse(R"({"name": "vm", "tpm": true})"), paths());
  ASSERT_EQ(helpers.size(), 1u);
  EXPECT_EQ(helpers[0].argv,
            (Strings{"swtpm", "socket", "--tpm2", "--tpmstate", "dir=/st/vm/tpm,mode=0600",
                     "--ctrl", "type=unixio,path=/run/mdevrun/vm/swtpm.sock,mode=0600"}));
  EXPECT_TRUE(helpers[0].ready_by_connect);
  EXPECT_EQ(helpers[0].state_dir, fs::path("/st/vm/tpm"));
}

TEST(ProfileDesktop, SharesGetSharedMemoryAVhostUserDeviceAndAVirtiofsd) {
  const std::string text = R"({"name": "vm", "machine": {"memory": "1G"}, "shares": [
      {"source": "src", "tag": "src"}, {"source": "/ref", "tag": "ref", "read-only": true}]})";
  const auto argv = argv_of(text);
  EXPECT_EQ(values(argv, "-object"),
            Strings{"memory-backend-memfd,id=mdevrun-mem,size=1024M,share=on"});
  EXPECT_EQ(values(argv, "-numa"), Strings{"node,memdev=mdevrun-mem"});
  EXPECT_EQ(values(argv, "-chardev").at(0),
            "socket,id=mdevrun-fs0,path=/run/mdevrun/vm/virtiofs-src.sock");
  EXPECT_EQ(values(argv, "-device").at(1),
            "vhost-user-fs-pci,id=mdevrun-fs1-dev,chardev=mdevrun-fs1,tag=ref");
  const auto helpers = helper_commands(parse(text), paths());
  ASSERT_EQ(helpers.size(), 2u);
  EXPECT_EQ(helpers[0].argv,
            (Strings{"/usr/lib/qemu/virtiofsd", "--socket-path=/run/mdevrun/vm/virtiofs-src.sock",
                     "-o", "source=/p/src", "-o", "cache=auto"}));
  EXPECT_FALSE(helpers[0].ready_by_connect) << "a probe would take virtiofsd's only session";
  EXPECT_FALSE(helpers[0].read_only);
  EXPECT_EQ(helpers[1].read_only, fs::path("/ref"));
}

TEST(ProfileDesktop, AgentUsbAudioCdromAndBootOrder) {
  const auto argv = argv_of(R"({"name": "vm", "display": {"backend": "spice", "agent": true},
      "usb": {"redirect": 1, "host": [{"vendor-product": "046D:C52B"}, {"bus": 1, "port": "2.1"}]},
      "audio": {"backend": "spice"}, "cdrom": "a,b.iso", "boot": ["cdrom", "disk", "network"],
      "disks": [{"file": "d0.qcow2"}, {"file": "d1.qcow2"}], "network": [{"mode": "user"}]})");
  EXPECT_EQ(
      values(argv, "-device"),
      (Strings{"qemu-xhci,id=mdevrun-usb",
               "usb-redir,id=mdevrun-usbredir0-dev,chardev=mdevrun-usbredir0,bus=mdevrun-usb.0",
               "usb-host,id=mdevrun-usbhost0,bus=mdevrun-usb.0,vendorid=0x046d,productid=0xc52b",
               "usb-host,id=mdevrun-usbhost1,bus=mdevrun-usb.0,hostbus=1,hostport=2.1",
               "virtio-serial-pci,id=mdevrun-vserial",
               "virtserialport,id=mdevrun-vdagent-port,bus=mdevrun-vserial.0,chardev=mdevrun-"
               "vdagent,name=com.redhat.spice.0",
               "ich9-intel-hda,id=mdevrun-hda",
               "hda-duplex,id=mdevrun-hda-codec,bus=mdevrun-hda.0,audiodev=mdevrun-audio",
               "ide-cd,id=mdevrun-cdrom,drive=mdevrun-cdrom-drive,bootindex=1",
               "virtio-blk-pci,id=mdevrun-disk0,drive=mdevrun-drive0,bootindex=2",
               "virtio-blk-pci,id=mdevrun-disk1,drive=mdevrun-drive1,bootindex=3",
               "virtio-net-pci,id=mdevrun-nic0,netdev=mdevrun-net0,bootindex=4"}));
  EXPECT_EQ(values(argv, "-chardev"), (Strings{"spicevmc,id=mdevrun-usbredir0,name=usbredir",
                                               "spicevmc,id=mdevrun-vdagent,name=vdagent"}));
  EXPECT_EQ(values(argv, "-audiodev"), Strings{"spice,id=mdevrun-audio"});
  EXPECT_EQ(values(argv, "-drive").at(0),
            "file=/p/a,,b.iso,format=raw,if=none,id=mdevrun-cdrom-drive,media=cdrom,readonly=on");
}

TEST(ProfileDesktop, AgentOffSpiceIsQemusOwnVdagent) {
  const auto argv = argv_of(R"({"name": "vm", "display": {"backend": "vnc", "agent": true}})");
  EXPECT_EQ(values(argv, "-chardev"),
            Strings{"qemu-vdagent,id=mdevrun-vdagent,name=vdagent,clipboard=on"});
  EXPECT_EQ(values(argv_of(R"({"name": "vm", "audio": {"backend": "wav"}})"), "-audiodev"),
            Strings{"wav,id=mdevrun-audio,path=/run/mdevrun/vm/audio.wav"});
}

TEST(ProfileDesktopErrors, EachMistakeIsOneLineAtItsPointer) {
  EXPECT_EQ(error_of(R"({"name": "vm", "tpm": {"modle": "crb"}})"),
            "vm.json:1: /tpm/modle: unknown key \"modle\"; did you mean \"model\"?");
  EXPECT_EQ(error_of(R"({"name": "vm", "tpm": "yes"})"),
            "vm.json:1: /tpm: expected true, false or {\"model\": \"crb\" | \"tis\"}, got \"yes\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "firmware": {"secure-boot": true, "type": "bios"}})"),
            "vm.json:1: /firmware/secure-boot: secure boot needs \"type\": \"uefi\" (or no "
            "\"type\")");
  EXPECT_EQ(
      error_of(R"({"name": "vm", "machine": {"type": "pc"}, "firmware": {"secure-boot": true}})"),
      "vm.json:1: /firmware/secure-boot: secure boot needs SMM, which mdevrun enables on q35 "
      "only; set \"machine\": {\"type\": \"q35\"}");
  EXPECT_EQ(error_of(R"({"name": "vm", "shares": [{"source": "s", "tga": "x"}]})"),
            "vm.json:1: /shares/0/tga: unknown key \"tga\"; did you mean \"tag\"?\n"
            "vm.json:1: /shares/0: missing required key \"tag\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "shares": [{"source": "a,b", "tag": "t"}]})"),
            "vm.json:1: /shares/0/source: \"/p/a,b\" has a ','; virtiofsd cannot take such a "
            "path: rename the folder or share a parent without one");
  EXPECT_EQ(error_of(R"({"name": "vm", "shares": [{"source": "a", "tag": "t"},
      {"source": "b", "tag": "t"}]})"),
            "vm.json:2: /shares/1/tag: duplicate tag \"t\" (also used at /shares/0); every share "
            "needs its own tag");
  EXPECT_NE(error_of(R"({"name": "vm", "shares": [{"source": "a", "tag": "a/b"}]})")
                .find("/shares/0/tag: \"a/b\" is not a share tag"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"name": "vm", "display": {"backend": "none", "agent": true}})"),
            "vm.json:1: /display/agent: the agent talks to a display and \"backend\" is \"none\"; "
            "pick a display or drop \"agent\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "display": {"backend": "gtk"}, "usb": {"redirect": 1}})"),
            "vm.json:1: /usb/redirect: USB redirection is a SPICE channel; use display backend "
            "\"spice\" or \"spice-app\", or \"usb\": {\"host\": [...]} to pass a device through");
  EXPECT_EQ(error_of(R"({"name": "vm", "usb": {"redirect": 9}})"),
            "vm.json:1: /usb/redirect: expected a whole number from 0 to 8, got 9");
  EXPECT_EQ(error_of(R"({"name": "vm", "usb": {"host": [{"vendor-product": "46d:c52b"}]}})"),
            "vm.json:1: /usb/host/0/vendor-product: \"46d:c52b\" is not vendor:product; expected "
            "4+4 hex digits like \"046d:c52b\" (`lsusb` shows them after ID)");
  EXPECT_EQ(
      error_of(R"({"name": "vm", "usb": {"host": [{"bus": 1}]}})"),
      "vm.json:1: /usb/host/0: a device by place needs both \"bus\" and \"port\" (`lsusb -t`)");
  EXPECT_EQ(error_of(R"({"name": "vm", "usb": {"host": [{}]}})"),
            "vm.json:1: /usb/host/0: name the device either by \"vendor-product\" or by \"bus\" "
            "and \"port\" (where it is plugged), not both and not neither");
  EXPECT_EQ(error_of(R"({"name": "vm", "audio": {"backend": "pulse"}})"),
            "vm.json:1: /audio/backend: \"pulse\" is not one of \"pa\", \"alsa\", \"jack\", "
            "\"oss\", \"sdl\", \"spice\", \"dbus\", \"wav\" or \"none\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "audio": {"backend": "spice"}})"),
            "vm.json:1: /audio/backend: the \"spice\" audio backend needs display backend "
            "\"spice\" or \"spice-app\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "cdrom": ""})"),
            "vm.json:1: /cdrom: expected a file path, got an empty string");
  EXPECT_EQ(error_of(R"({"name": "vm", "cdrom": "x.iso", "boot": ["cdrom", "cdrmo"]})"),
            "vm.json:1: /boot/1: \"cdrmo\" is not one of \"cdrom\", \"disk\" or \"network\"; did "
            "you mean \"cdrom\"?");
  EXPECT_EQ(error_of(R"({"name": "vm", "cdrom": "x.iso", "boot": ["cdrom", "cdrom"]})"),
            "vm.json:1: /boot/1: \"cdrom\" is already in the boot order; list each once");
  EXPECT_EQ(error_of(R"({"name": "vm", "boot": ["disk"]})"),
            "vm.json:1: /boot/0: the profile has no \"disks\" to boot from; add one or drop "
            "\"disk\"");
  EXPECT_EQ(error_of(R"({"name": "vm", "tmp": true})"),
            "vm.json:1: /tmp: unknown key \"tmp\"; did you mean \"tpm\"?");
}

}  // namespace
}  // namespace mdevrun

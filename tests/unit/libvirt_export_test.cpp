// The libvirt XML as text: each profile field lands in the element the README's mapping names.
// virt-xml-validate and libvirtd's own qemu argv are checked in tests/libvirt/.

#include "export/libvirt_export.hpp"

#include <gmock/gmock.h>

#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ResolvedMdev resolved(const std::string& id, const std::string& uuid) {
  ResolvedMdev m;
  m.id = id;
  m.uuid = uuid;
  return m;
}

std::string seed_xml(Profile& p) {
  p = load_profile(std::string(MDEVRUN_SOURCE_DIR) + "/profiles/gvtg-desktop.json");
  return libvirt_domain_xml(p, {resolved("gpu0", *p.mdevs[0].uuid)}, "/usr/bin/qemu-system-x86_64");
}

TEST(LibvirtExport, SeedProfileAsTheSeedWritesIt) {
  Profile p;
  const std::string xml = seed_xml(p);
  EXPECT_THAT(xml, HasSubstr("<domain type='kvm'"));
  EXPECT_THAT(xml, HasSubstr("<type arch='x86_64' machine='q35'>hvm</type>"));
  EXPECT_THAT(xml, HasSubstr("<memory unit='MiB'>4096</memory>\n  <vcpu>4</vcpu>"));
  EXPECT_THAT(xml, HasSubstr("<cpu mode='host-passthrough'/>"));
  EXPECT_THAT(xml, HasSubstr("    <graphics type='spice'>\n      <listen type='none'/>\n"
                             "      <gl enable='yes'/>\n    </graphics>"));
  EXPECT_THAT(xml, HasSubstr("libvirt has no gtk graphics"));
  EXPECT_THAT(xml,
              HasSubstr("    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' "
                        "display='on'>\n      <source>\n        <address "
                        "uuid='4dd50f26-ec08-11e8-b838-4bc3356865b6'/>\n      </source>\n"
                        "      <alias name='ua-gpu0'/>\n    </hostdev>"));
  EXPECT_THAT(xml, HasSubstr("<video>\n      <model type='none'/>\n    </video>"));
  EXPECT_THAT(xml, HasSubstr("<target dev='vda' bus='virtio'/>"));
  EXPECT_THAT(xml, HasSubstr("<interface type='user'>\n      <model type='virtio'/>"));
  EXPECT_THAT(xml, HasSubstr("<!-- hostfwd tcp:127.0.0.1:2222-:22 is not mapped"));
  EXPECT_THAT(xml, HasSubstr("<qemu:arg value='usb-tablet,id=tablet0,bus=xhci.0'/>"));
  EXPECT_THAT(xml, Not(HasSubstr("ramfb")));
}

TEST(LibvirtExport, RamfbVmUuidFirmwareKernelAndEscaping) {
  Profile p;
  seed_xml(p);
  p.name = "a<b>&'c\"";
  p.mdevs[0].ramfb = true;
  p.mdevs[0].vm_uuid = true;
  p.mdevs[0].x_igd_opregion = true;
  p.firmware.type = FirmwareType::uefi;
  p.firmware.code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
  p.firmware.vars_template = "/usr/share/OVMF/OVMF_VARS_4M.fd";
  p.kernel = KernelSpec{"/boot/vmlinuz", std::filesystem::path("/boot/initrd"), "console=ttyS0"};
  p.machine.accel = "tcg";
  p.machine.cpu = "max";
  const std::string xml = libvirt_domain_xml(p, {resolved("gpu0", *p.mdevs[0].uuid)}, "/q");
  EXPECT_THAT(xml, HasSubstr("<domain type='qemu'"));
  EXPECT_THAT(xml, HasSubstr("<name>a&lt;b&gt;&amp;&apos;c&quot;</name>"));
  EXPECT_THAT(xml, HasSubstr("<uuid>4dd50f26-ec08-11e8-b838-4bc3356865b6</uuid>"));
  EXPECT_THAT(xml, HasSubstr("display='on' ramfb='on'>"));
  EXPECT_THAT(xml, HasSubstr("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd"
                             "</loader>\n    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'/>"));
  EXPECT_THAT(xml, HasSubstr("<kernel>/boot/vmlinuz</kernel>\n    <initrd>/boot/initrd</initrd>\n"
                             "    <cmdline>console=ttyS0</cmdline>"));
  EXPECT_THAT(xml, HasSubstr("<cpu mode='maximum'/>"));
  EXPECT_THAT(xml, HasSubstr("<qemu:device alias='ua-gpu0'>\n      <qemu:frontend>\n        "
                             "<qemu:property name='rombar' type='unsigned' value='0'/>\n        "
                             "<qemu:property name='x-igd-opregion' type='bool' value='true'/>"));
}

TEST(LibvirtExport, DisplayBackends) {
  Profile p;
  seed_xml(p);
  const std::vector<ResolvedMdev> m = {resolved("gpu0", *p.mdevs[0].uuid)};
  p.display = {DisplayBackend::vnc, false, std::nullopt, "0.0.0.0:3"};
  EXPECT_THAT(libvirt_domain_xml(p, m, "/q"),
              HasSubstr("<graphics type='vnc' port='5903' autoport='no'>\n      "
                        "<listen type='address' address='0.0.0.0'/>"));
  p.display = {DisplayBackend::vnc, false, std::nullopt,
               std::nullopt};  // qemu picks a free display
  EXPECT_THAT(libvirt_domain_xml(p, m, "/q"),
              HasSubstr("<graphics type='vnc' autoport='yes'>\n      "
                        "<listen type='address' address='127.0.0.1'/>"));
  p.display = {DisplayBackend::egl_headless, false, "/dev/dri/renderD128", std::nullopt};
  EXPECT_THAT(libvirt_domain_xml(p, m, "/q"),
              HasSubstr("<graphics type='egl-headless'>\n      <gl "
                        "rendernode='/dev/dri/renderD128'/>\n    </graphics>"));
  p.display = {DisplayBackend::spice, false, std::nullopt, "127.0.0.1:5930"};
  EXPECT_THAT(libvirt_domain_xml(p, m, "/q"),
              HasSubstr("<graphics type='spice' port='5930' autoport='no'>\n      "
                        "<listen type='address' address='127.0.0.1'/>"));
  p.display = {DisplayBackend::none, false, std::nullopt, std::nullopt};
  EXPECT_THAT(libvirt_domain_xml(p, m, "/q"), Not(HasSubstr("<graphics")));
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

TEST(LibvirtExport, PciSlicesArePciHostdevs) {
  const Profile p = profile_from_document(parse_profile_document(R"({"name": "vm",
    "slices": [
      {"id": "vf0", "mechanism": "vf", "pf": "0000:00:02.0", "rombar": false},
      {"id": "gpu", "mechanism": "pci", "address": "0000:01:00.0"},
      {"id": "v", "mechanism": "nvidia-vgpu", "vgpu-type": 1148},
      {"id": "later", "mechanism": "vf", "pf": "0000:05:00.0"}]})",
                                                                 "vm.json", "/p"));
  const std::vector<ResolvedSlice> slices = {
      {.id = "vf0",
       .mechanism = SliceMechanism::vf,
       .address = "0000:00:02.1",
       .pf = "0000:00:02.0"},
      {.id = "gpu", .mechanism = SliceMechanism::pci, .address = "0000:01:00.0"},
      {.id = "v", .mechanism = SliceMechanism::nvidia_vgpu, .address = "0000:41:00.4"},
      {.id = "later", .mechanism = SliceMechanism::vf, .address = ""}};
  const std::string xml = libvirt_domain_xml(p, {}, slices, "/q");
  EXPECT_NE(xml.find("<!-- slice vf0: a VF of 0000:00:02.0; enable VFs first"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<hostdev mode='subsystem' type='pci' managed='yes'>\n"
                     "      <driver name='vfio'/>\n      <source>\n"
                     "        <address domain='0x0000' bus='0x00' slot='0x02' function='0x1'/>\n"
                     "      </source>\n      <alias name='ua-vf0'/>\n      <rom bar='off'/>\n"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("bus='0x01' slot='0x00' function='0x0'"), std::string::npos);
  EXPECT_NE(xml.find("echo 1148 > /sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type"),
            std::string::npos);
  EXPECT_NE(xml.find("type='pci' managed='no'"), std::string::npos);
  EXPECT_NE(xml.find("slice later: no PCI address could be resolved"), std::string::npos);
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

Profile desktop(const std::string& json) {
  return profile_from_document(parse_profile_document(json, "vm.json", "/p"));
}

TEST(LibvirtExport, SecureBootIsASecureLoaderWithSmm) {
  const std::string xml =
      libvirt_domain_xml(desktop(R"({"name": "vm", "firmware": {"secure-boot": true}})"), {}, "/q");
  EXPECT_THAT(xml, HasSubstr("<loader readonly='yes' secure='yes' type='pflash'>"
                             "/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>"));
  EXPECT_THAT(xml, HasSubstr("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'/>"));
  EXPECT_THAT(xml, HasSubstr("<features>\n    <acpi/>\n    <smm state='on'/>\n  </features>"));
  const std::string plain =
      libvirt_domain_xml(desktop(R"({"name": "vm", "firmware": {"type": "uefi"}})"), {}, "/q");
  EXPECT_THAT(plain, HasSubstr("<loader readonly='yes' type='pflash'>"));
  EXPECT_THAT(plain, Not(HasSubstr("smm")));
}

TEST(LibvirtExport, TpmIsAnEmulatedTpm2) {
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm", "tpm": true})"), {}, "/q"),
              HasSubstr("<tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>\n"
                        "    </tpm>"));
  EXPECT_THAT(libvirt_domain_xml(
                  desktop(R"({"name": "vm", "machine": {"type": "pc"}, "tpm": true})"), {}, "/q"),
              HasSubstr("<tpm model='tpm-tis'>"));
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm"})"), {}, "/q"), Not(HasSubstr("<tpm")));
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

TEST(LibvirtExport, SharesAreVirtiofsOnSharedMemory) {
  const std::string xml = libvirt_domain_xml(desktop(R"({"name": "vm", "shares": [
      {"source": "/srv/work", "tag": "work"},
      {"source": "/srv/ref", "tag": "ref", "read-only": true}]})"),
                                             {}, "/q");
  EXPECT_THAT(xml, HasSubstr("<vcpu>2</vcpu>\n  <memoryBacking>\n    <source type='memfd'/>\n"
                             "    <access mode='shared'/>\n  </memoryBacking>"));
  EXPECT_THAT(xml, HasSubstr("    <filesystem type='mount' accessmode='passthrough'>\n"
                             "      <driver type='virtiofs'/>\n      <source dir='/srv/work'/>\n"
                             "      <target dir='work'/>\n    </filesystem>"));
  // Not shared writable: a comment says why and how to share it read-only.
  EXPECT_THAT(xml, Not(HasSubstr("<source dir='/srv/ref'/>")));
  EXPECT_THAT(xml, Not(HasSubstr("  <readonly/>\n")));
  EXPECT_THAT(xml, HasSubstr("<!-- share ref (/srv/ref) is read-only and libvirt 9.0 refuses "
                             "<readonly/> on virtiofs"));
  EXPECT_THAT(xml, HasSubstr("mount -o bind,ro /srv/ref RO-DIR and add <filesystem "
                             "type='mount' accessmode='passthrough'><driver type='virtiofs'/>"
                             "<source dir='RO-DIR'/><target dir='ref'/></filesystem> -->"));
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm"})"), {}, "/q"),
              Not(HasSubstr("memoryBacking")));
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

TEST(LibvirtExport, AgentIsSpiceVdagentOnSpiceAndQemuVdagentElsewhere) {
  const std::string spice = R"({"name": "vm", "display": {"backend": "spice", "agent": true}})";
  EXPECT_THAT(libvirt_domain_xml(desktop(spice), {}, "/q"),
              HasSubstr("    <channel type='spicevmc'>\n      <target type='virtio' "
                        "name='com.redhat.spice.0'/>\n    </channel>"));
  // gtk is SPICE in libvirt: SPICE's agent, and a comment says so.
  const std::string gtk = libvirt_domain_xml(
      desktop(R"({"name": "vm", "display": {"backend": "gtk", "agent": true}})"), {}, "/q");
  EXPECT_THAT(gtk, HasSubstr("<channel type='spicevmc'>"));
  EXPECT_THAT(gtk, HasSubstr("<!-- agent: mdevrun's gtk window talks to qemu-vdagent"));
  EXPECT_THAT(
      libvirt_domain_xml(desktop(R"({"name": "vm", "display": {"backend": "vnc", "agent": true}})"),
                         {}, "/q"),
      HasSubstr("    <channel type='qemu-vdagent'>\n      <source>\n        <clipboard "
                "copypaste='yes'/>\n      </source>\n      <target type='virtio' "
                "name='com.redhat.spice.0'/>\n    </channel>"));
  EXPECT_THAT(
      libvirt_domain_xml(desktop(R"({"name": "vm", "display": {"backend": "spice"}})"), {}, "/q"),
      Not(HasSubstr("<channel")));
}

TEST(LibvirtExport, UsbRedirectionAndHostDevicesOnOneXhci) {
  const std::string xml = libvirt_domain_xml(desktop(R"({"name": "vm",
      "display": {"backend": "spice"},
      "usb": {"redirect": 2, "host": [{"vendor-product": "046d:c52b"}, {"bus": 3, "port": "2.1"}]}})"),
                                             {}, "/q");
  EXPECT_THAT(xml, HasSubstr("    <controller type='usb' index='0' model='qemu-xhci'/>\n"
                             "    <redirdev bus='usb' type='spicevmc'/>\n"
                             "    <redirdev bus='usb' type='spicevmc'/>\n"
                             "    <hostdev mode='subsystem' type='usb'>\n      <source>\n"
                             "        <vendor id='0x046d'/>\n        <product id='0xc52b'/>\n"
                             "      </source>\n    </hostdev>\n"));
  // By port: no libvirt element, so the same usb-host as mdevrun's, on libvirt's controller.
  EXPECT_THAT(xml, HasSubstr("<!-- USB devices by port: libvirt 9.0 picks a host USB device by "
                             "vendor and product or by bus and device number"));
  EXPECT_THAT(xml, HasSubstr("<qemu:arg value='-device'/>\n    <qemu:arg "
                             "value='usb-host,id=mdevrun-usbhost1,bus=usb.0,hostbus=3,"
                             "hostport=2.1'/>"));
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm"})"), {}, "/q"),
              Not(HasSubstr("<controller type='usb'")));
}

}  // namespace
}  // namespace mdevrun

namespace mdevrun {
namespace {

TEST(LibvirtExport, AudioIsAnIch9WithTheProfilesBackend) {
  const auto xml = [](const std::string& backend) {
    return libvirt_domain_xml(desktop(R"({"name": "vm", "display": {"backend": "spice"},
        "audio": {"backend": ")" + backend +
                                      R"("}})"),
                              {}, "/q");
  };
  EXPECT_THAT(xml("pa"), HasSubstr("    <sound model='ich9'>\n      <codec type='duplex'/>\n"
                                   "      <audio id='1'/>\n    </sound>\n"
                                   "    <audio id='1' type='pulseaudio'/>\n"));
  for (const char* same : {"alsa", "jack", "oss", "sdl", "spice", "dbus", "none"})
    EXPECT_THAT(xml(same), HasSubstr("<audio id='1' type='" + std::string(same) + "'/>"));
  EXPECT_THAT(xml("wav"), HasSubstr("<audio id='1' type='file'/>"));
  EXPECT_THAT(xml("wav"), HasSubstr("<!-- wav: mdevrun writes audio.wav"));
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm"})"), {}, "/q"), Not(HasSubstr("<sound")));
}

TEST(LibvirtExport, CdromIsAReadOnlyRawDiskOnMdevrunsBus) {
  const std::string q35 = libvirt_domain_xml(desktop(R"({"name": "vm", "cdrom": "/iso/install.iso",
        "disks": [{"file": "/d/a.raw", "interface": "ide"}]})"),
                                             {}, "/q");
  EXPECT_THAT(q35, HasSubstr("    <disk type='file' device='cdrom'>\n"
                             "      <driver name='qemu' type='raw'/>\n"
                             "      <source file='/iso/install.iso'/>\n"
                             "      <target dev='sda' bus='sata'/>\n      <readonly/>\n"
                             "    </disk>\n"));
  EXPECT_THAT(q35, HasSubstr("<target dev='sdb' bus='sata'/>"));  // the ide disk after it
  EXPECT_THAT(libvirt_domain_xml(desktop(R"({"name": "vm", "machine": {"type": "pc"},
        "cdrom": "/iso/install.iso"})"),
                                 {}, "/q"),
              HasSubstr("<target dev='hda' bus='ide'/>"));
}

// mdevrun's bootindex numbering: the profile's order, "disk" one number per disk (nvme included,
// which is on the qemu command line), the first NIC only.
TEST(LibvirtExport, BootOrderIsMdevrunsBootindex) {
  const std::string xml = libvirt_domain_xml(
      desktop(R"({"name": "vm", "cdrom": "/iso/i.iso", "boot": ["disk", "cdrom", "network"],
        "disks": [{"file": "/d/a.qcow2"}, {"file": "/d/b.raw", "interface": "nvme"}],
        "network": [{"mode": "user"}, {"mode": "user"}]})"),
      {}, "/q");
  EXPECT_THAT(xml, HasSubstr("<source file='/d/a.qcow2'/>\n      <target dev='vda' "
                             "bus='virtio'/>\n      <boot order='1'/>\n"));
  EXPECT_THAT(xml, HasSubstr("serial=mdevrun-disk1,bootindex=2'/>"));
  EXPECT_THAT(xml, HasSubstr("<readonly/>\n      <boot order='3'/>\n"));
  EXPECT_THAT(xml, HasSubstr("<model type='virtio'/>\n      <boot order='4'/>\n"));
  EXPECT_EQ(xml.find("<boot order='5'"), std::string::npos);  // the second NIC
  EXPECT_THAT(xml, Not(HasSubstr("<boot dev")));              // libvirt refuses both kinds together
  EXPECT_THAT(
      libvirt_domain_xml(desktop(R"({"name": "vm", "disks": [{"file": "/d/a.qcow2"}]})"), {}, "/q"),
      Not(HasSubstr("<boot")));
}

}  // namespace
}  // namespace mdevrun

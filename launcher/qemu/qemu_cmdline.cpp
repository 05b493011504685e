#include "qemu/qemu_cmdline.hpp"

#include "profile/profile_choices.hpp"
#include "qemu/boot_order.hpp"

namespace mdevrun {
namespace {

const char* on_off_auto(OnOffAuto v) {
  switch (v) {
    case OnOffAuto::on:
      return "on";
    case OnOffAuto::automatic:
      return "auto";
    default:
      return "off";
  }
}

// The profile names machines, -display types, -netdev types and chardev backends with qemu's own
// words, so their profile spelling is the qemu one; where qemu's word differs there is a switch.

const char* disk_driver(const DiskSpec& d) {
  switch (d.interface) {
    case DiskInterface::virtio:
      return "virtio-blk-pci";
    case DiskInterface::ide:
      // qemu refuses a read-only ide-hd; a read-only IDE disk is what installers expect: a CD-ROM.
      return d.read_only ? "ide-cd" : "ide-hd";
    case DiskInterface::scsi:
      return "scsi-hd";
    case DiskInterface::nvme:
      return "nvme";
  }
  return "virtio-blk-pci";  // not reached: -Wswitch makes every interface a case above
}

// Appends ",key=value" with the value escaped.
void prop(std::string& opt, std::string_view key, std::string_view value) {
  opt += ',';
  opt += key;
  opt += '=';
  opt += escape_option_value(value);
}

class ArgvBuilder {
 public:
  ArgvBuilder(const Profile& p, const std::vector<ResolvedMdev>& mdevs,
              const std::vector<ResolvedSlice>& slices, const QemuRuntimePaths& paths)
      : p_(p), mdevs_(mdevs), slices_(slices), paths_(paths) {}

  std::vector<std::string> build() {
    add(p_.qemu.binary);
    add("-name", "guest=" + escape_option_value(p_.name));
    // No config files and no default devices: the VM is exactly what the profile says.
    add("-no-user-config");
    add("-nodefaults");
    // Secure boot: the firmware keeps its variable store in SMM, so the guest OS cannot rewrite
    // the keys; OVMF's secboot build refuses to run without it.
    add("-machine", to_string(p_.machine.type) + (p_.firmware.secure_boot ? ",smm=on" : ""));
    add("-accel", p_.machine.accel);
    add("-cpu", p_.machine.cpu);
    add("-smp", std::to_string(p_.machine.cpus));
    add("-m", std::to_string(p_.machine.memory_mib) + "M");
    shared_memory();
    for (std::size_t i = 0; i < p_.mdevs.size(); ++i)
      if (p_.mdevs[i].vm_uuid) add("-uuid", mdevs_[i].uuid);
    firmware();
    tpm();
    kernel();
    display();
    add("-qmp", "unix:" + escape_option_value(paths_.qmp_socket.string()) + ",server=on,wait=off");
    add("-qmp", "unix:" + escape_option_value(paths_.cli_socket.string()) + ",server=on,wait=off");
    serial();
    for (std::size_t i = 0; i < p_.mdevs.size(); ++i) {
      slot(p_.mdevs[i].id);
      add("-device", device_option(mdev_device_properties(p_, p_.mdevs[i], mdevs_[i])));
    }
    for (std::size_t i = 0; i < p_.slices.size(); ++i) {
      slot(p_.slices[i].id);
      add("-device", device_option(slice_device_properties(p_, p_.slices[i], slices_.at(i))));
    }
    for (const auto& d : p_.devices) device(d);
    usb();
    agent();
    audio();
    for (std::size_t i = 0; i < p_.shares.size(); ++i) share(p_.shares[i], i);
    cdrom();
    for (std::size_t i = 0; i < p_.disks.size(); ++i) disk(p_.disks[i], i);
    for (std::size_t i = 0; i < p_.network.size(); ++i) nic(p_.network[i], i);
    for (const auto& a : p_.qemu.args) add(a);
    return std::move(argv_);
  }

 private:
  void add(std::string a) { argv_.push_back(std::move(a)); }
  void add(std::string a, std::string b) {
    argv_.push_back(std::move(a));
    argv_.push_back(std::move(b));
  }

  // vhost-user devices (virtiofsd) map guest RAM: it must be shared memory, one NUMA node on it.
  void shared_memory() {
    if (p_.shares.empty()) return;
    add("-object", "memory-backend-memfd,id=mdevrun-mem,size=" +
                       std::to_string(p_.machine.memory_mib) + "M,share=on");
    add("-numa", "node,memdev=mdevrun-mem");
  }

  void firmware() {
    if (p_.firmware.type != FirmwareType::uefi) return;
    // Only SMM code may write the flash: what makes secure boot's variables tamper-proof.
    if (p_.firmware.secure_boot) add("-global", "driver=cfi.pflash01,property=secure,value=on");
    std::string code = "if=pflash,format=raw,unit=0,readonly=on";
    prop(code, "file", p_.firmware.code.string());
    add("-drive", code);
    std::string vars = "if=pflash,format=raw,unit=1";
    const std::filesystem::path& file = !p_.firmware.vars.empty() ? p_.firmware.vars
                                        : p_.firmware.secure_boot ? paths_.profile_vars
                                                                  : paths_.uefi_vars;
    prop(vars, "file", file.string());
    add("-drive", vars);
  }

  void tpm() {
    if (!p_.tpm) return;
    std::string chardev = "socket,id=mdevrun-tpm-chr";
    prop(chardev, "path", paths_.tpm_socket.string());
    add("-chardev", chardev);
    add("-tpmdev", "emulator,id=mdevrun-tpm,chardev=mdevrun-tpm-chr");
    add("-device", std::string(p_.tpm->model == TpmModel::crb ? "tpm-crb" : "tpm-tis") +
                       ",id=mdevrun-tpm0,tpmdev=mdevrun-tpm");
  }

  // One xHCI controller for redirected and passed-through USB devices.
  void usb() {
    if (p_.usb.redirect == 0 && p_.usb.host.empty()) return;
    add("-device", "qemu-xhci,id=mdevrun-usb");
    for (int i = 0; i < p_.usb.redirect; ++i) {
      const std::string id = "mdevrun-usbredir" + std::to_string(i);
      add("-chardev", "spicevmc,id=" + id + ",name=usbredir");
      add("-device", "usb-redir,id=" + id + "-dev,chardev=" + id + ",bus=mdevrun-usb.0");
    }
    for (std::size_t i = 0; i < p_.usb.host.size(); ++i) {
      const UsbHostSpec& h = p_.usb.host[i];
      std::string dev = "usb-host,id=mdevrun-usbhost" + std::to_string(i) + ",bus=mdevrun-usb.0";
      if (h.vendor_id) {
        prop(dev, "vendorid", "0x" + *h.vendor_id);
        prop(dev, "productid", "0x" + *h.product_id);
      } else {
        prop(dev, "hostbus", std::to_string(*h.bus));
        prop(dev, "hostport", *h.port);
      }
      add("-device", dev);
    }
  }

  // SPICE's vdagent channel on a SPICE display; elsewhere qemu's own agent (clipboard only).
  void agent() {
    if (!p_.display.agent) return;
    const DisplayBackend b = p_.display.backend;
    add("-device", "virtio-serial-pci,id=mdevrun-vserial");
    if (b == DisplayBackend::spice || b == DisplayBackend::spice_app)
      add("-chardev", "spicevmc,id=mdevrun-vdagent,name=vdagent");
    else
      add("-chardev", "qemu-vdagent,id=mdevrun-vdagent,name=vdagent,clipboard=on");
    add("-device",
        "virtserialport,id=mdevrun-vdagent-port,bus=mdevrun-vserial.0,chardev=mdevrun-vdagent,"
        "name=com.redhat.spice.0");
  }

  void audio() {
    if (!p_.audio) return;
    std::string dev = to_string(p_.audio->backend) + ",id=mdevrun-audio";
    // Without a path qemu writes qemu.wav into whatever folder it was started from.
    if (p_.audio->backend == AudioBackend::wav)
      prop(dev, "path", (paths_.instance_dir / "audio.wav").string());
    add("-audiodev", dev);
    add("-device", "ich9-intel-hda,id=mdevrun-hda");
    add("-device", "hda-duplex,id=mdevrun-hda-codec,bus=mdevrun-hda.0,audiodev=mdevrun-audio");
  }

  void share(const ShareSpec& s, std::size_t i) {
    const std::string id = "mdevrun-fs" + std::to_string(i);
    std::string chardev = "socket,id=" + id;
    prop(chardev, "path", paths_.share_socket(s.tag).string());
    add("-chardev", chardev);
    std::string dev = "vhost-user-fs-pci,id=" + id + "-dev,chardev=" + id;
    prop(dev, "tag", s.tag);
    add("-device", dev);
  }

  void cdrom() {
    if (!p_.cdrom) return;
    std::string drive = "file=" + escape_option_value(p_.cdrom->string());
    drive += ",format=raw,if=none,id=mdevrun-cdrom-drive,media=cdrom,readonly=on";
    add("-drive", drive);
    std::string dev = "ide-cd,id=mdevrun-cdrom,drive=mdevrun-cdrom-drive";
    if (boot_.cdrom) dev += ",bootindex=" + std::to_string(boot_.cdrom);
    add("-device", dev);
  }

  // -kernel, -initrd and -append take a plain value, not an option string: nothing to escape.
  void kernel() {
    if (!p_.kernel) return;
    add("-kernel", p_.kernel->image.string());
    if (p_.kernel->initrd) add("-initrd", p_.kernel->initrd->string());
    if (p_.kernel->append) add("-append", *p_.kernel->append);
  }

  void display() {
    const DisplaySpec& d = p_.display;
    if (d.backend == DisplayBackend::spice) {
      std::string opt;
      if (d.listen) {
        const auto colon = d.listen->rfind(':');
        opt = "addr=" + escape_option_value(d.listen->substr(0, colon));
        if (colon != std::string::npos) prop(opt, "port", d.listen->substr(colon + 1));
      } else {
        opt = "unix=on";
        prop(opt, "addr", paths_.spice_socket.string());
      }
      opt += ",disable-ticketing=on";
      if (d.gl) opt += ",gl=on";
      if (d.rendernode) prop(opt, "rendernode", *d.rendernode);
      add("-spice", opt);
      return;
    }
    if (d.backend == DisplayBackend::vnc) {
      // Without a listen address every profile would want display :0 and the second VM would
      // die with "Failed to find an available port": let qemu take the first free of :0-:99.
      // An explicit address is the user's choice and stays exact.
      add("-display", d.listen ? "vnc=" + escape_option_value(*d.listen) : "vnc=127.0.0.1:0,to=99");
      return;
    }
    std::string opt = to_string(d.backend);
    if (d.gl && d.backend != DisplayBackend::egl_headless) opt += ",gl=on";
    if (d.rendernode) prop(opt, "rendernode", *d.rendernode);
    add("-display", opt);
  }

  void serial() {
    if (p_.serial.mode == SerialMode::none) return;
    std::string chardev;
    if (p_.serial.mode == SerialMode::console) {
      // qemu is the client of a socket the supervisor already listens on: a server chardev
      // (server=on,wait=off) drops what the guest writes while no one is connected, and the
      // supervisor connects only once qemu's monitor answers, after the guest started.
      chardev = "socket,id=mdevrun-serial0";
      prop(chardev, "path", paths_.serial_socket.string());
      chardev += ",server=off";
    } else {
      chardev = to_string(p_.serial.mode) + ",id=mdevrun-serial0";
    }
    if (p_.serial.mode == SerialMode::file) prop(chardev, "path", p_.serial.path.string());
    add("-chardev", chardev);
    add("-serial", "chardev:mdevrun-serial0");
  }

  // A hot-pluggable slot of its own: on q35 a pcie-root-port (PCIe has one device per port).
  void slot(const std::string& id) {
    if (p_.machine.type != MachineType::q35) return;
    add("-device", "pcie-root-port,id=" + slot_id(id) + ",chassis=" + std::to_string(++chassis_));
  }

  void device(const DeviceSpec& d) {
    if (d.slot) slot(d.id);
    add("-device", device_option(extra_device_properties(p_, d)));
  }

  void disk(const DiskSpec& d, std::size_t i) {
    const std::string drive_id = "mdevrun-drive" + std::to_string(i);
    std::string drive = "file=" + escape_option_value(d.file.string());
    prop(drive, "format", d.format);
    drive += ",if=none,id=" + drive_id;
    if (d.read_only) drive += ",readonly=on";
    if (d.snapshot) drive += ",snapshot=on";
    add("-drive", drive);
    const std::string dev_id = "mdevrun-disk" + std::to_string(i);
    if (d.interface == DiskInterface::scsi && !scsi_controller_) {
      add("-device", "virtio-scsi-pci,id=mdevrun-scsi0");
      scsi_controller_ = true;
    }
    std::string dev = std::string(disk_driver(d)) + ",id=" + dev_id + ",drive=" + drive_id;
    if (d.interface == DiskInterface::scsi) dev += ",bus=mdevrun-scsi0.0";
    if (d.interface == DiskInterface::nvme) dev += ",serial=" + dev_id;
    if (boot_.disk(i)) dev += ",bootindex=" + std::to_string(boot_.disk(i));
    add("-device", dev);
  }

  void nic(const NetworkSpec& n, std::size_t i) {
    const std::string netdev_id = "mdevrun-net" + std::to_string(i);
    std::string netdev = to_string(n.mode) + ",id=" + netdev_id;
    switch (n.mode) {
      case NetworkMode::user:
        for (const auto& h : n.hostfwd) prop(netdev, "hostfwd", h);
        break;
      case NetworkMode::bridge:
        prop(netdev, "br", *n.bridge);
        break;
      case NetworkMode::tap:
        prop(netdev, "ifname", *n.ifname);
        netdev += ",script=no,downscript=no";  // never run host scripts on the user's behalf
        break;
    }
    add("-netdev", netdev);
    std::string dev = n.model + ",id=mdevrun-nic" + std::to_string(i) + ",netdev=" + netdev_id;
    if (n.mac) prop(dev, "mac", *n.mac);
    if (boot_.nic(i)) dev += ",bootindex=" + std::to_string(boot_.nic(i));
    add("-device", dev);
  }

  const Profile& p_;
  const std::vector<ResolvedMdev>& mdevs_;
  const std::vector<ResolvedSlice>& slices_;
  const QemuRuntimePaths& paths_;
  std::vector<std::string> argv_;
  int chassis_ = 0;
  bool scsi_controller_ = false;
  const BootIndexes boot_ = boot_indexes(p_);  // after p_, as members start in this order
};

}  // namespace

std::string escape_option_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::string slot_id(std::string_view id) {
  return "mdevrun-slot-" + std::string(id);
}

DeviceProperties mdev_device_properties(const Profile& profile, const MdevSpec& spec,
                                        const ResolvedMdev& mdev) {
  // ramfb exists only on the no-hotplug variant of vfio-pci.
  DeviceProperties p = {{"driver", spec.ramfb ? "vfio-pci-nohotplug" : "vfio-pci"},
                        {"id", spec.id},
                        {"sysfsdev", mdev.sysfs_path.string()},
                        {"display", on_off_auto(spec.display)}};
  if (spec.rombar) p.emplace_back("rombar", *spec.rombar ? "1" : "0");
  if (spec.x_igd_opregion) p.emplace_back("x-igd-opregion", "on");
  if (spec.ramfb) p.emplace_back("ramfb", "on");
  p.emplace_back("bus", profile.machine.type == MachineType::q35 ? slot_id(spec.id) : "pci.0");
  return p;
}

DeviceProperties slice_device_properties(const Profile& profile, const SliceSpec& spec,
                                         const ResolvedSlice& slice) {
  DeviceProperties p = {{"driver", spec.ramfb ? "vfio-pci-nohotplug" : "vfio-pci"},
                        {"id", spec.id},
                        {"host", slice.address}};
  // Only NVIDIA vGPU VFs have a vfio display region; the loader refuses display on the others.
  if (spec.mechanism == SliceMechanism::nvidia_vgpu)
    p.emplace_back("display", on_off_auto(spec.display));
  if (spec.rombar) p.emplace_back("rombar", *spec.rombar ? "1" : "0");
  if (spec.ramfb) p.emplace_back("ramfb", "on");
  p.emplace_back("bus", profile.machine.type == MachineType::q35 ? slot_id(spec.id) : "pci.0");
  return p;
}

DeviceProperties extra_device_properties(const Profile& profile, const DeviceSpec& spec) {
  DeviceProperties p = {{"driver", spec.driver}, {"id", spec.id}};
  for (const auto& [k, v] : spec.properties) p.emplace_back(k, v);
  if (spec.slot)
    p.emplace_back("bus", profile.machine.type == MachineType::q35 ? slot_id(spec.id) : "pci.0");
  return p;
}

std::string device_option(const DeviceProperties& properties) {
  std::string opt = escape_option_value(properties.at(0).second);
  for (std::size_t i = 1; i < properties.size(); ++i)
    prop(opt, properties[i].first, properties[i].second);
  return opt;
}

std::vector<std::string> build_qemu_argv(const Profile& profile,
                                         const std::vector<ResolvedMdev>& mdevs,
                                         const QemuRuntimePaths& paths) {
  static const std::vector<ResolvedSlice> none;
  return ArgvBuilder(profile, mdevs, none, paths).build();
}

std::vector<std::string> build_qemu_argv(const Profile& profile,
                                         const std::vector<ResolvedMdev>& mdevs,
                                         const std::vector<ResolvedSlice>& slices,
                                         const QemuRuntimePaths& paths) {
  return ArgvBuilder(profile, mdevs, slices, paths).build();
}

}  // namespace mdevrun

#pragma once
// `mdevrun export PROFILE --libvirt`: the same VM as a libvirt domain XML, for users who want to
// hand it to libvirt (virsh define). Pure: profile and resolved mdevs in, text out.
//
// Mapping: machine -> <domain type> (kvm|qemu), <os><type machine>, <cpu>, <memory>, <vcpu>; each
// mdev -> <hostdev type='mdev' model='vfio-pci'>, each VF/PCI slice -> <hostdev type='pci'>, with
// display, ramfb and a user alias (rombar and x-igd-opregion via <qemu:override>); display ->
// <graphics> (libvirt has no gtk: gtk and spice-app become spice with no listener, GL as <gl
// enable='yes'/>, as the seed does), <video model='none'/> (mdevrun adds no VGA); disks, NICs,
// firmware, kernel, serial. The desktop keys: firmware.secure_boot -> <loader secure='yes'> +
// <smm state='on'/>; tpm -> <tpm model='tpm-crb|tpm-tis'> on an emulator (swtpm) backend; shares ->
// virtiofs <filesystem>s on <memoryBacking> memfd/shared; display.agent -> a spicevmc channel on
// displays exported as SPICE, a qemu-vdagent one elsewhere; usb -> a qemu-xhci <controller>,
// <redirdev type='spicevmc'>s, <hostdev type='usb'> by vendor/product; audio -> <sound
// model='ich9'> with a duplex codec + <audio>; cdrom -> a read-only cdrom <disk>; boot -> <boot
// order> on the devices, numbered as mdevrun's bootindex. What libvirt cannot say natively (nvme
// disks, extra devices, USB devices by port, qemu.args) goes to <qemu:commandline>/<qemu:override>;
// hostfwd and read-only shares (libvirt 9.0 refuses read-only virtiofs) are comments.

#include <filesystem>
#include <string>
#include <vector>

#include "devices/resolved_mdev.hpp"
#include "devices/resolved_slice.hpp"
#include "profile/profile.hpp"

namespace mdevrun {

/// The domain XML. `mdevs` match `profile.mdevs` one to one (their uuid is used); `emulator` is
/// the absolute path of the qemu binary (libvirt's <emulator>).
std::string libvirt_domain_xml(const Profile& profile, const std::vector<ResolvedMdev>& mdevs,
                               const std::filesystem::path& emulator);
/// With the profile's PCI slices as a dry run resolves them (one per profile.slices): each a
/// <hostdev type='pci'> (managed='yes' for vf and pci; 'no' for an NVIDIA vGPU VF, which stays
/// on nvidia), with comments for what libvirt does not do (enabling VFs, the vGPU type).
std::string libvirt_domain_xml(const Profile& profile, const std::vector<ResolvedMdev>& mdevs,
                               const std::vector<ResolvedSlice>& slices,
                               const std::filesystem::path& emulator);

/// `text` with &, <, >, ' and " escaped for XML text and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace mdevrun

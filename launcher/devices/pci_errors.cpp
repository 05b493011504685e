#include "devices/pci_errors.hpp"

#include <cstring>

#include "os/sysfs_write.hpp"

namespace mdevrun {

namespace {

// What the kernel means by `error` for this kind of write, and what to do about it.
std::string meaning(int error, PciChange::Kind kind, const std::string& address) {
  using K = PciChange::Kind;
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied: PCI sysfs attributes are root's; run mdevrun as root";
    case EBUSY:
      if (kind == K::numvfs)
        return "VFs are already enabled or still in use (the kernel changes sriov_numvfs only "
               "from 0): stop what uses them, write 0 to sriov_numvfs, then start again";
      if (kind == K::vgpu_type)
        return "the VF already has another vGPU type or is in use: stop the VM that uses it";
      return "the device is in use (a VM or a host process holds it): stop that first";
    case ENODEV:
      if (kind == K::bind)
        return "the driver refused " + address +
               " (not its device, or a driver_override names another driver)";
      return address + " went away or the driver does not hold it";
    case ENOENT:
      if (kind == K::numvfs)
        return "the PF has no driver bound; SR-IOV is enabled by the PF's driver: bind it "
               "(or load its module) first";
      return "the file does not exist: the device or driver went away";
    case ERANGE:
      return "more VFs than the PF offers (sriov_totalvfs); lower \"numvfs\"";
    case EINVAL:
      if (kind == K::vgpu_type)
        return "the driver rejected the type: it is not creatable on this VF now (see "
               "`mdevrun types`)";
      return "the kernel rejected the value; check `dmesg`";
    case ENOSPC:
    case ENOMEM:
      return "not enough PCI bus numbers, MMIO space or memory for the VFs: enable SR-IOV and "
             "\"Above 4G decoding\" in the firmware, or boot with pci=realloc";
    default:
      return std::strerror(error);
  }
}

}  // namespace

Error pci_write_error(int error, PciChange::Kind kind, const std::string& slice,
                      const std::string& address, const std::filesystem::path& file,
                      const std::string& value, bool undoing) {
  const ExitCode code = (error == EACCES || error == EPERM) ? ExitCode::permission
                        : error == EBUSY                    ? ExitCode::busy
                                                            : ExitCode::mdev;
  std::string shown = value;
  if (!shown.empty() && shown.back() == '\n') shown.pop_back();
  return Error(code, std::string(undoing ? "cannot put back " : "cannot prepare ") +
                         (slice.empty() ? std::string() : "slice \"" + slice + "\" ") + "(" +
                         address + "): writing \"" + shown + "\" to " + file.string() +
                         " failed with " + errno_name(error) + ": " +
                         meaning(error, kind, address));
}

}  // namespace mdevrun

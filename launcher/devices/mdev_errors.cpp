#include "devices/mdev_errors.hpp"

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/text.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace {

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

std::string no_parent_message(const Host& host) {
  return "no mdev-capable device is registered (" +
         mdev_parent_path(host, "").parent_path().string() +
         " is empty or missing): load the parent device's mdev driver; run `mdevrun check` for "
         "details";
}

std::string no_free_message(std::string_view type, std::string_view parents,
                            std::string_view detail) {
  return "mdev type " + in_quotes(type) + " has no free instance on " + std::string(parents) +
         " (" + std::string(detail) + "): stop a VM that uses one, or pick another type";
}

[[noreturn]] void throw_create_failed(int error, const std::string& uuid, const MdevType& type) {
  const std::string create = (type.dir / "create").string();
  const std::string code = errno_name(error);
  switch (error) {
    case ENOSPC:
    case EUSERS:
      throw Error(ExitCode::mdev, no_free_message(type.type, type.parent,
                                                  "create failed with " + code +
                                                      " although available_instances was " +
                                                      std::to_string(type.available_instances)));
    case EEXIST:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid +
                                      ": the UUID is already in use (EEXIST from " + create +
                                      "): remove that mdev or choose another uuid");
    case EINVAL:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " of type " +
                                      in_quotes(type.type) + " on " + type.parent +
                                      ": the kernel rejected it (EINVAL from " + create +
                                      "): check the kernel log (dmesg)");
    case ENODEV:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " on " + type.parent +
                                      ": the parent device is going away (ENODEV from " + create +
                                      "): check that its driver is still bound");
    case ENOENT:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + ": " + create +
                                      " does not exist (ENOENT): the parent or type went away; run "
                                      "`mdevrun types`");
    case EACCES:
    case EPERM:
      throw Error(ExitCode::permission,
                  "cannot create mdev " + uuid + ": no permission to write " + create + " (" +
                      code +
                      "): run mdevrun as root, or create the mdev once as root (persistently: "
                      "mdevctl define -u " +
                      uuid + " -p " + type.parent + " -t " + type.type +
                      " --auto && mdevctl start -u " + uuid + ") and let mdevrun reuse it");
    default:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " of type " +
                                      in_quotes(type.type) + " on " + type.parent + ": writing " +
                                      create + " failed: " + std::strerror(error) + " (" + code +
                                      ")");
  }
}

}  // namespace mdevrun

#include "qemu/qemu_failure_hint.hpp"

#include <regex>

namespace mdevrun {

std::optional<std::string> hint_for_qemu_failure(const std::vector<std::string>& qemu_lines,
                                                 const VfioHolderLookup& holders) {
  static const std::regex busy(R"(failed to open /dev/vfio/(\d+): Device or resource busy)");
  for (const auto& line : qemu_lines) {
    std::smatch m;
    if (std::regex_search(line, m, busy)) {
      const int group = std::stoi(m[1]);
      const std::string who = holders ? holders(group) : "";
      return "the mdev's VFIO group " + std::to_string(group) + " is in use" +
             (who.empty() ? std::string(" by another process") : " by " + who) +
             "; stop that VM first, or give this profile another mdev (another uuid)";
    }
    if (line.find("vfio-display-dmabuf: opengl not available") != std::string::npos)
      return "this mdev's display is a dmabuf and needs OpenGL: use a GL display "
             "(\"display\": {\"backend\": \"gtk\", \"gl\": true}, or egl-headless) or set the "
             "mdev's \"display\" to \"off\"";
    if (line.find("OpenGL is not supported by the display") != std::string::npos)
      return "the display backend cannot do OpenGL here: gtk/sdl with gl need an X or Wayland "
             "session (DISPLAY or WAYLAND_DISPLAY); headless, use \"egl-headless\" with a render "
             "node";
    if (line.find("egl: no drm render node available") != std::string::npos)
      return "egl-headless (and spice/dbus gl) need a GPU render node /dev/dri/renderD*: set "
             "\"display.rendernode\" to one this user can open, or use another display";
    if (line.find("Failed to find an available port") != std::string::npos &&
        line.find("vnc=") != std::string::npos)
      return "that VNC display is taken (another VM or program listens on it): pick a free one in "
             "\"display.listen\" (e.g. \"127.0.0.1:7\" = port 5907), or drop \"listen\" and "
             "mdevrun lets qemu take the first free display from :0 to :99";
    if (line.find("no such host device") != std::string::npos &&
        line.find("vfio") != std::string::npos)
      return "the mdev vanished before qemu opened it; check `mdevrun types` and start again";
    if (line.find("Could not access KVM kernel module") != std::string::npos ||
        line.find("failed to initialize kvm") != std::string::npos)
      return "KVM is not available: load kvm_intel/kvm_amd and check access to /dev/kvm, or set "
             "\"machine\": {\"accel\": \"tcg\"} (slow)";
    if (line.find("Could not open") != std::string::npos &&
        line.find("No such file or directory") != std::string::npos)
      return "a file the profile names does not exist: check the disks, kernel and firmware paths";
  }
  return std::nullopt;
}

}  // namespace mdevrun

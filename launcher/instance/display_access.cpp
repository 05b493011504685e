#include "instance/display_access.hpp"

#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace {

// An IPv6 host goes into a URI in brackets: spice://[::1]:5930.
std::string uri_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

}  // namespace

DisplayAccess display_access(const DisplaySpec& display, const std::filesystem::path& spice_socket,
                             const std::optional<std::string>& vnc_address) {
  DisplayAccess a;
  a.backend = to_string(display.backend);
  a.gl = display.gl && display.backend != DisplayBackend::egl_headless;
  switch (display.backend) {
    case DisplayBackend::spice:
      if (display.listen) {
        const auto colon = display.listen->rfind(':');
        a.uri = "spice://" + uri_host(display.listen->substr(0, colon)) +
                (colon == std::string::npos ? "" : display.listen->substr(colon));
      } else {
        a.uri = "spice+unix://" + spice_socket.string();
      }
      a.how = "open " + *a.uri + " with remote-viewer (Debian: virt-viewer)" +
              (a.gl ? "; a GL display is shown only to a viewer on this host" : "");
      break;
    case DisplayBackend::vnc:
      if (vnc_address) {
        const auto colon = vnc_address->rfind(':');
        a.uri = "vnc://" + uri_host(vnc_address->substr(0, colon)) +
                (colon == std::string::npos ? "" : vnc_address->substr(colon));
        a.how = "open " + *a.uri + " with remote-viewer or any VNC viewer (vncviewer " +
                *vnc_address + ")";
      } else {
        a.how = "qemu did not say where its VNC server listens (query-vnc)";
      }
      break;
    case DisplayBackend::gtk:
    case DisplayBackend::sdl:
      a.how = "a " + a.backend + " window qemu opened on this host's desktop";
      break;
    case DisplayBackend::spice_app:
      a.how = "a viewer qemu started itself on this host (spice-app: it opens remote-viewer)";
      break;
    case DisplayBackend::dbus:
      a.how = "on D-Bus (-display dbus): a D-Bus display client on this host connects to it";
      break;
    case DisplayBackend::egl_headless:
      a.how = "none to connect to: egl-headless renders for qemu only (add a spice or vnc display)";
      break;
    case DisplayBackend::none:
      a.how = "none: the profile has no display";
      break;
  }
  if (a.uri) a.viewer = {"remote-viewer", *a.uri};
  return a;
}

nlohmann::json to_json(const DisplayAccess& a) {
  nlohmann::json j = {{"backend", a.backend}, {"gl", a.gl}, {"how", a.how}};
  if (a.uri) j["uri"] = *a.uri;
  if (!a.viewer.empty()) j["viewer"] = a.viewer;
  return j;
}

}  // namespace mdevrun

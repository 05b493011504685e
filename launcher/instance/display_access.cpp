#include "instance/display_access.hpp"

#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace {

// "scheme://host:port" from "host:port" (the port is after the last colon); an IPv6 host goes
// into a URI in brackets: spice://[::1]:5930.
std::string network_uri(const std::string& scheme, const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return scheme + "://" + host + (colon == std::string::npos ? "" : address.substr(colon));
}

}  // namespace

DisplayAccess display_access(const DisplaySpec& display, const std::filesystem::path& spice_socket,
                             const std::optional<std::string>& vnc_address) {
  DisplayAccess a;
  a.backend = to_string(display.backend);
  a.gl = display.gl && display.backend != DisplayBackend::egl_headless;
  switch (display.backend) {
    case DisplayBackend::spice:
      a.uri = display.listen ? network_uri("spice", *display.listen)
                             : "spice+unix://" + spice_socket.string();
      a.how = "open " + *a.uri + " with remote-viewer (Debian: virt-viewer)" +
              (a.gl ? "; a GL display is shown only to a viewer on this host" : "");
      break;
    case DisplayBackend::vnc:
      if (vnc_address) {
        a.uri = network_uri("vnc", *vnc_address);
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

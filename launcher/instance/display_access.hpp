#pragma once
// How a person reaches a running VM's display: the URI a viewer opens (vnc://, spice://,
// spice+unix://), the viewer command line for it, and in words what kind of display it is (a
// window qemu opened itself, or none). `status` shows it and `mdevrun display` opens it. The
// address of a VNC display is qemu's (query-vnc: the first free port), not the profile's.
//
// Pure: no I/O. Threading: none. Errors: none.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/profile.hpp"

namespace mdevrun {

struct DisplayAccess {
  std::string backend;  ///< the profile's display backend: gtk, spice, vnc, ...
  bool gl = false;      ///< rendered with OpenGL (a spice GL display needs a local viewer)
  std::optional<std::string> uri;   ///< for remote-viewer; none for a local window or no display
  std::vector<std::string> viewer;  ///< the viewer command line for uri (remote-viewer URI)
  std::string how;                  ///< one line: what to do to see it
};

/// `vnc_address` is query-vnc's "host:port" (none when qemu did not say); `spice_socket` is where
/// a spice display without a listen address listens (the runtime directory's spice.sock).
DisplayAccess display_access(const DisplaySpec& display, const std::filesystem::path& spice_socket,
                             const std::optional<std::string>& vnc_address);

/// {"backend", "gl", "uri"?, "viewer"?, "how"}: status --json's `display_access`.
nlohmann::json to_json(const DisplayAccess& access);

}  // namespace mdevrun

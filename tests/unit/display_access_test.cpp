// instance/display_access: what `status` and `mdevrun display` say about reaching a display.
#include "instance/display_access.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

DisplaySpec display(DisplayBackend backend, bool gl = false,
                    std::optional<std::string> listen = std::nullopt) {
  DisplaySpec d;
  d.backend = backend;
  d.gl = gl;
  d.listen = std::move(listen);
  return d;
}

const std::filesystem::path kSock = "/run/mdevrun/desk/spice.sock";

TEST(DisplayAccess, LocalSpiceIsASpiceUnixUriForRemoteViewer) {
  const auto a = display_access(display(DisplayBackend::spice, true), kSock, std::nullopt);
  EXPECT_EQ(a.uri, "spice+unix:///run/mdevrun/desk/spice.sock");
  EXPECT_EQ(a.viewer, (std::vector<std::string>{"remote-viewer", *a.uri}));
  EXPECT_TRUE(a.gl);
  EXPECT_NE(a.how.find("only to a viewer on this host"), std::string::npos) << a.how;
}

TEST(DisplayAccess, SpiceOnAnAddressKeepsItsPortAndBracketsIpv6) {
  EXPECT_EQ(display_access(display(DisplayBackend::spice, false, "0.0.0.0:5930"), kSock, {}).uri,
            "spice://0.0.0.0:5930");
  EXPECT_EQ(display_access(display(DisplayBackend::spice, false, "::1:5930"), kSock, {}).uri,
            "spice://[::1]:5930");
}

TEST(DisplayAccess, VncIsWhereQemuSaysItListensNotWhatTheProfileAsked) {
  const auto a = display_access(display(DisplayBackend::vnc), kSock, "127.0.0.1:5901");
  EXPECT_EQ(a.uri, "vnc://127.0.0.1:5901");
  EXPECT_NE(a.how.find("vncviewer 127.0.0.1:5901"), std::string::npos) << a.how;
  const auto unknown = display_access(display(DisplayBackend::vnc), kSock, std::nullopt);
  EXPECT_FALSE(unknown.uri);
  EXPECT_TRUE(unknown.viewer.empty());
}

TEST(DisplayAccess, LocalWindowsAndNoDisplayHaveNoUri) {
  for (auto b : {DisplayBackend::gtk, DisplayBackend::sdl, DisplayBackend::spice_app,
                 DisplayBackend::dbus, DisplayBackend::egl_headless, DisplayBackend::none}) {
    const auto a = display_access(display(b, true), kSock, std::nullopt);
    EXPECT_FALSE(a.uri) << a.backend;
    EXPECT_FALSE(a.how.empty()) << a.backend;
  }
  EXPECT_FALSE(display_access(display(DisplayBackend::egl_headless, true), kSock, {}).gl);
  EXPECT_EQ(to_json(display_access(display(DisplayBackend::gtk, true), kSock, {})),
            (nlohmann::json{{"backend", "gtk"},
                            {"gl", true},
                            {"how", "a gtk window qemu opened on this host's desktop"}}));
}

}  // namespace
}  // namespace mdevrun

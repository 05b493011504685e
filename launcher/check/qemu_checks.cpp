#include "check/detail/checker.hpp"

#include <unistd.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>

#include "base/text.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kQemuPackage = "(Debian/Ubuntu, Fedora, Arch: qemu-system-x86)";

std::string first_line(const std::string& text) {
  return trim(text.substr(0, text.find('\n')));
}

// Debian and Ubuntu ship gtk and sdl in qemu-system-gui and the other UI modules in
// qemu-system-common; Fedora and Arch ship one qemu-ui-* package per module.
std::string ui_module_fix(DisplayBackend backend) {
  const bool gui = backend == DisplayBackend::gtk || backend == DisplayBackend::sdl;
  const std::string name = to_string(backend);
  return "install qemu's " + name +
         " UI module (Debian/Ubuntu: " + (gui ? "qemu-system-gui" : "qemu-system-common") +
         "; Fedora, Arch: qemu-ui-" +
         (backend == DisplayBackend::spice ? std::string("spice-core") : name) + ")";
}

// The profile's qemu, or the one `start` would run without a profile.
std::string qemu_binary(const Checker& c) {
  return c.profile ? c.profile->qemu.binary : "qemu-system-x86_64";
}

std::optional<ProgramOutput> qemu_run(const Checker& c, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {qemu_binary(c)};
  argv.insert(argv.end(), args.begin(), args.end());
  return c.host.run_qemu(argv);
}

void display_backend(Checker& c) {
  const std::string backend = to_string(c.profile->display.backend);
  const char* id = "display";
  const char* title = "qemu display";
  if (c.profile->display.backend == DisplayBackend::vnc)
    return c.add(pass(id, title, backend + " (built in)"));
  const std::string fix = ui_module_fix(c.profile->display.backend);
  if (c.profile->display.backend == DisplayBackend::spice) {
    const auto out = qemu_run(c, {"-spice", "help"});
    if (out && out->exit_code == 0 && out->output.find("spice options") != std::string::npos)
      return c.add(pass(id, title, backend + " is available"));
    return c.add(
        bad(Verdict::fail, id, title, "-spice help: spice is not available", fix, backend));
  }
  const auto out = qemu_run(c, {"-display", "help"});
  bool listed = false;
  if (out) {
    std::istringstream in(out->output);
    for (std::string line; std::getline(in, line);)
      if (trim(line) == backend) listed = true;
  }
  if (listed) return c.add(pass(id, title, backend + " is available"));
  c.add(bad(Verdict::fail, id, title, "not listed by -display help", fix, backend));
}

// The same "gl" check as gtk's: whichever GL the profile uses, one result says whether it works.
void render_node(Checker& c) {
  std::vector<std::pair<std::string, fs::path>> nodes;  // (shown name, path under the dev root)
  if (c.profile->display.rendernode) {
    const std::string& named = *c.profile->display.rendernode;
    fs::path path = named;
    if (named.starts_with("/dev/")) path = c.host.paths.dev / named.substr(5);
    nodes.emplace_back(named, path);
  } else {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(c.host.paths.dev / "dri", ec), end; !ec && it != end;
         it.increment(ec))
      if (it->path().filename().string().starts_with("renderD"))
        names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) nodes.emplace_back("/dev/dri/" + n, c.host.paths.dev / "dri" / n);
  }
  std::error_code ec;
  std::string denied;
  for (const auto& [name, path] : nodes) {
    if (!fs::exists(path, ec)) continue;
    if (c.host.can_access(path, R_OK | W_OK))
      return c.add(pass("gl", "GL", "render node " + name + " is accessible"));
    denied = name;
  }
  if (!denied.empty())
    return c.add(bad(Verdict::fail, "gl", "GL", "this user cannot open it",
                     "sudo usermod -aG render $USER, then log in again", "render node " + denied));
  c.add(bad(Verdict::fail, "gl", "GL",
            (c.profile->display.rendernode ? *c.profile->display.rendernode + " is missing"
                                           : std::string("no /dev/dri/renderD* node")) +
                " (" + to_string(c.profile->display.backend) + " GL renders on the host GPU)",
            "load the host GPU's DRM driver (e.g. sudo modprobe i915), or name an existing node "
            "in display.rendernode",
            "render node"));
}

}  // namespace

void check_qemu(Checker& c) {
  const std::string binary = qemu_binary(c);
  const auto version = qemu_run(c, {"--version"});
  if (!version)
    return c.add(bad(Verdict::fail, "qemu", "qemu", binary + " not found or not executable",
                     std::string("install qemu ") + kQemuPackage));
  if (version->exit_code != 0)
    return c.add(bad(Verdict::fail, "qemu", "qemu",
                     binary + " --version failed: " + first_line(version->output),
                     std::string("reinstall qemu ") + kQemuPackage));
  const auto v = parse_qemu_version(version->output);
  const std::string found =
      binary + " " +
      (v ? std::to_string((*v)[0]) + "." + std::to_string((*v)[1]) + "." + std::to_string((*v)[2])
         : "unknown version");
  // vfio display and ramfb came with qemu 3.0/3.1.
  if (!v || *v < std::vector<int>{3, 1, 0})
    c.add(bad(Verdict::fail, "qemu", "qemu", "too old for vfio display and ramfb (3.1 or later)",
              std::string("install qemu 3.1 or later ") + kQemuPackage, found));
  else
    c.add(pass("qemu", "qemu", found));

  const auto help = qemu_run(c, {"-device", "vfio-pci,help"});
  const std::string out = help ? help->output : std::string();
  std::vector<std::string> lacking;
  for (const char* prop : {"sysfsdev", "display"})
    if (out.find(std::string("  ") + prop + "=") == std::string::npos) lacking.push_back(prop);
  if (lacking.empty()) {
    c.add(pass("qemu-vfio-pci", "qemu vfio-pci", "offers sysfsdev and display"));
  } else {
    std::string list;
    for (const auto& l : lacking) list += (list.empty() ? "" : " and ") + l;
    c.add(
        bad(Verdict::fail, "qemu-vfio-pci", "qemu vfio-pci",
            "-device vfio-pci,help does not list " + list,
            std::string("use a qemu built with VFIO, as distributions build it ") + kQemuPackage));
  }
  if (c.profile && std::any_of(c.profile->mdevs.begin(), c.profile->mdevs.end(),
                               [](auto& m) { return m.ramfb; })) {
    const auto nh = qemu_run(c, {"-device", "vfio-pci-nohotplug,help"});
    if (nh && nh->output.find("  ramfb=") != std::string::npos)
      c.add(pass("qemu-ramfb", "qemu vfio-pci-nohotplug", "offers ramfb"));
    else
      c.add(bad(Verdict::fail, "qemu-ramfb", "qemu vfio-pci-nohotplug",
                "-device vfio-pci-nohotplug,help does not list ramfb",
                "use qemu 3.1 or later, or set \"ramfb\": false in the profile"));
  }
  if (c.profile) display_backend(c);
}

void check_gl(Checker& c) {
  const DisplaySpec& d = c.profile->display;
  const bool gl = d.gl || d.backend == DisplayBackend::egl_headless;
  if (!gl) {
    for (const auto& m : c.profile->mdevs) {
      if (m.display != OnOffAuto::on) continue;
      // GVT-g's display is a dmabuf: qemu exits with "vfio-display-dmabuf: opengl not
      // available" without GL. Region displays (mdpy) work without it.
      const bool dmabuf = m.type.starts_with("i915-");
      c.add(bad(dmabuf ? Verdict::fail : Verdict::warn, "mdev-display:" + m.id,
                "mdev " + m.id + " display",
                "display=on without a GL display: a dmabuf vGPU (GVT-g) needs one",
                "set \"display\": {\"backend\": \"gtk\", \"gl\": true} (or egl-headless) in " +
                    c.profile->file.string()));
    }
    return;
  }
  if (d.backend == DisplayBackend::gtk || d.backend == DisplayBackend::sdl) {
    const auto wayland = c.host.getenv("WAYLAND_DISPLAY");
    const auto x = c.host.getenv("DISPLAY");
    if (wayland) return c.add(pass("gl", "GL", "Wayland display " + *wayland));
    if (x) return c.add(pass("gl", "GL", "X display " + *x));
    return c.add(bad(Verdict::fail, "gl", "GL",
                     "needs X or Wayland: neither DISPLAY nor WAYLAND_DISPLAY is set",
                     "run it from the desktop session, or use egl-headless or spice with a render "
                     "node (/dev/dri/renderD128)",
                     to_string(d.backend) + ",gl=on"));
  }
  render_node(c);
}

}  // namespace mdevrun::detail

namespace mdevrun {

std::optional<std::vector<int>> parse_qemu_version(const std::string& output) {
  static const std::regex re(R"(version (\d+)\.(\d+)(?:\.(\d+))?)");
  std::smatch m;
  if (!std::regex_search(output, m, re)) return std::nullopt;
  return std::vector<int>{std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0};
}

}  // namespace mdevrun

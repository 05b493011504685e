#include <iostream>
#include <memory>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "devices/mdev_ensure.hpp"
#include "devices/slice_ensure.hpp"
#include "export/libvirt_export.hpp"
#include "export/mdevctl_export.hpp"
#include "os/host.hpp"
#include "os/named_profile.hpp"
#include "os/process.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun::cli {
namespace {
namespace fs = std::filesystem;

struct ExportOptions {
  std::string profile;
  bool libvirt = false;
  bool mdevctl = false;
  bool manual = false;
};

// libvirt wants an absolute <emulator>: look a bare name up in PATH like exec would.
fs::path emulator_path(const std::string& name) {
  const std::string found = find_in_path(name);
  return found.empty() ? fs::path("/usr/bin") / name : fs::absolute(found);
}

int run_export(const Host& host, const ExportOptions& o) {
  const Profile profile = load_profile(resolve_profile_arg(host, o.profile));
  // Read only: the UUIDs (given or derived) and, for mdevs without a parent, the one start picks.
  auto ensured = ensure_mdevs(host, profile.name, profile.mdevs, EnsureMode::dry_run);
  if (o.libvirt) {
    // The VF a start would pick (read only); a whole device is its address.
    const auto slices = ensure_slices(host, profile.slices, EnsureMode::dry_run);
    std::cout << libvirt_domain_xml(profile, ensured.mdevs, slices.slices,
                                    emulator_path(profile.qemu.binary));
  } else {
    if (!profile.slices.empty())
      std::cerr << "mdevrun: note: the profile's " << profile.slices.size()
                << " PCI slice(s) are not mdevs: mdevctl does not define them\n";
    std::cout << mdevctl_script(ensured.mdevs, !o.manual);
  }
  return 0;
}

}  // namespace

void add_export(CLI::App& app, Action& action) {
  auto o = std::make_shared<ExportOptions>();
  auto* sub = app.add_subcommand(
      "export", "Print the VM as libvirt domain XML, or its mdevs as mdevctl definitions");
  sub->add_option("profile", o->profile, kProfileHelp)->required();
  auto* libvirt = sub->add_flag("--libvirt", o->libvirt, "libvirt domain XML (virsh define)");
  auto* mdevctl = sub->add_flag("--mdevctl", o->mdevctl,
                                "a shell script of `mdevctl define` commands (run as root)");
  libvirt->excludes(mdevctl);
  sub->add_flag("--manual", o->manual, "with --mdevctl: start the mdev by hand, not at boot")
      ->needs(mdevctl);
  sub->callback([o, &action, sub] {
    if (!o->libvirt && !o->mdevctl)
      throw CLI::RequiredError(sub->get_name() + ": one of --libvirt or --mdevctl");
    action = [o](const Host& host) { return run_export(host, *o); };
  });
}

}  // namespace mdevrun::cli

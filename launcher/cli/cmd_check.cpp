#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "profile_loader.hpp"

namespace mdevrun::cli {
namespace {

struct CheckOptions {
  std::string profile;
};

int run_check(const CheckOptions& o) {
  if (o.profile.empty()) {
    std::cout << "PASS  nothing to check without a profile yet\n";
    return 0;
  }
  const Profile p = load_profile(o.profile);
  std::cout << "PASS  profile " << o.profile << " is valid (" << p.mdevs.size() << " mdev"
            << (p.mdevs.size() == 1 ? "" : "s") << ", " << p.devices.size() << " device"
            << (p.devices.size() == 1 ? "" : "s") << ")\n";
  return 0;
}

}  // namespace

void add_check(CLI::App& app, Action& action) {
  auto o = std::make_shared<CheckOptions>();
  auto* sub = app.add_subcommand("check", "Check the host and a profile: PASS / WARN / FAIL");
  sub->add_option("profile", o->profile, "Guest profile (JSON)");
  sub->callback([o, &action] { action = [o] { return run_check(*o); }; });
}

}  // namespace mdevrun::cli

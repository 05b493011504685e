#include <iostream>
#include <memory>

#include "base/error.hpp"
#include "check/check_report.hpp"
#include "check/host_checks.hpp"
#include "cli/command.hpp"
#include "os/named_profile.hpp"
#include "profile/profile_loader.hpp"

namespace mdevrun::cli {
namespace {

struct CheckOptions {
  std::string profile;
  bool json = false;
};

// Exit code: 0 when nothing failed (warnings allowed), 1 (failure) when a check failed; a bad
// profile is a usage error (2) before any host check runs.
int run_check(const Host& host, const CheckOptions& o) {
  std::optional<Profile> profile;
  std::vector<CheckResult> results;
  if (!o.profile.empty()) {
    profile = load_profile(resolve_profile_arg(host, o.profile));
    const auto n = profile->mdevs.size(), k = profile->slices.size();
    std::string counted = std::to_string(n) + " mdev" + (n == 1 ? "" : "s");
    if (k > 0) counted += ", " + std::to_string(k) + " slice" + (k == 1 ? "" : "s");
    results.push_back(
        {Verdict::pass, "profile", "profile", o.profile + " is valid (" + counted + ")", {}, {}});
  }
  const auto checks = run_host_checks(HostView::of(host), profile ? &*profile : nullptr);
  results.insert(results.end(), checks.begin(), checks.end());
  if (o.json)
    std::cout << check_json(results).dump(2) << "\n";
  else
    std::cout << format_check_lines(results);
  return worst_verdict(results) == Verdict::fail ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace

void add_check(CLI::App& app, Action& action) {
  auto o = std::make_shared<CheckOptions>();
  auto* sub = app.add_subcommand("check",
                                 "Check the host (and a profile) can run mdev and PCI-slice VMs: "
                                 "PASS / WARN / FAIL with fixes");
  sub->add_option("profile", o->profile, kProfileHelp);
  sub->add_flag("--json", o->json, "Print the results as JSON");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_check(host, *o); }; });
}

}  // namespace mdevrun::cli

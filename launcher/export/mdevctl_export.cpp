#include "export/mdevctl_export.hpp"

#include "base/error.hpp"
#include "base/shell_quote.hpp"

namespace mdevrun {

nlohmann::json mdevctl_definition(const ResolvedMdev& mdev, bool auto_start) {
  return {{"mdev_type", mdev.type},
          {"start", auto_start ? "auto" : "manual"},
          {"attrs", nlohmann::json::array()}};
}

std::string mdevctl_definition_path(const ResolvedMdev& mdev) {
  return "/etc/mdevctl.d/" + mdev.parent + "/" + mdev.uuid;
}

std::string mdevctl_script(const std::vector<ResolvedMdev>& mdevs, bool auto_start) {
  std::string out =
      "#!/bin/sh\n# mdevctl definitions for the profile's mdevs (run as root)\nset -e\n";
  for (const auto& m : mdevs) {
    if (m.parent.empty())
      throw Error(ExitCode::usage, "mdev \"" + m.id + "\": no parent offers type " + m.type +
                                       " on this host: name the parent in the profile");
    out +=
        "# " + mdevctl_definition_path(m) + ": " + mdevctl_definition(m, auto_start).dump() + "\n";
    std::vector<std::string> define = {"mdevctl",  "define", "--uuid", m.uuid,
                                       "--parent", m.parent, "--type", m.type};
    if (auto_start) define.push_back("--auto");
    out += shell_join(define) + "\n";
    if (!m.exists) out += shell_join({"mdevctl", "start", "--uuid", m.uuid}) + "\n";
  }
  return out;
}

}  // namespace mdevrun

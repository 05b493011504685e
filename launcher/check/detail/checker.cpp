#include "check/detail/checker.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/text.hpp"

namespace mdevrun::detail {
namespace fs = std::filesystem;

Checker::Checker(const HostView& host, const Profile* profile) : host(host), profile(profile) {
  if (const auto cpuinfo = read_text(host.paths.proc / "cpuinfo")) {
    std::istringstream in(*cpuinfo);
    for (std::string line; std::getline(in, line);) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string key = trim(line.substr(0, colon));
      if (key == "flags")
        for (const auto& f : words(line.substr(colon + 1))) cpu_flags.insert(f);
      if (key == "vendor_id") cpu_vendor = trim(line.substr(colon + 1));
    }
  }
  if (profile)
    for (const auto& m : profile->mdevs) {
      if (m.type.starts_with("i915-")) i915 = true;
      if (m.type.starts_with("nvidia-")) nvidia = true;
      if (m.type.starts_with("i915-GVTg")) gvtg = true;
    }
}

bool Checker::intel() const {
  return cpu_vendor == "GenuineIntel" || cpu_flags.count("vmx");
}

bool Checker::needs_kvm() const {
  return !profile || profile->machine.accel == "kvm";
}

// Without a profile the question is whether this host can run mdev VMs at all, so everything
// mdev and vfio need is checked. A profile without mdevs needs none of it, unless it passes a
// host PCI device through with vfio-pci in "devices" (vfio and the IOMMU, but no mdev).
bool Checker::needs_mdev() const {
  return !profile || !profile->mdevs.empty();
}

bool Checker::needs_vfio() const {
  return needs_mdev() || has_slices() ||
         std::any_of(profile->devices.begin(), profile->devices.end(),
                     [](auto& d) { return d.driver.starts_with("vfio-pci"); });
}

bool Checker::has_slices() const {
  return profile && !profile->slices.empty();
}

bool Checker::passes_pci_through() const {
  return has_slices() ||
         (profile && std::any_of(profile->devices.begin(), profile->devices.end(), [](auto& d) {
            return d.driver.starts_with("vfio-pci") && d.properties.count("host");
          }));
}

bool Checker::iommu_needed() const {
  return !profile || i915 || nvidia || has_slices();
}

bool Checker::module_loaded(const std::string& name) const {
  std::error_code ec;
  return fs::exists(host.paths.sys / "module" / name, ec);
}

Verdict Checker::kvm_verdict() const {
  return needs_kvm() ? Verdict::fail : Verdict::warn;
}

std::string Checker::kvm_why(std::string why) const {
  return needs_kvm() ? why
                     : why + " (the profile uses " + profile->machine.accel + ": slow, but runs)";
}

CheckResult pass(std::string id, std::string title, std::string detail) {
  return {Verdict::pass, std::move(id), std::move(title), std::move(detail), {}, {}};
}

CheckResult bad(Verdict v, std::string id, std::string title, std::string why, std::string fix,
                std::string detail) {
  return {v, std::move(id), std::move(title), std::move(detail), std::move(why), std::move(fix)};
}

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string persist_module(const std::string& module) {
  return "sudo modprobe " + module + "; to load it at boot: echo " + module +
         " | sudo tee /etc/modules-load.d/" + module + ".conf";
}

}  // namespace mdevrun::detail

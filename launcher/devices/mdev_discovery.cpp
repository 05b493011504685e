#include "devices/mdev_discovery.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "base/error.hpp"
#include "base/uuid.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> sorted_entries(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// An optional attribute: none when absent, an Error when present but unreadable.
std::optional<std::string> read_optional(const fs::path& path) {
  int error = 0;
  auto text = read_sysfs(path, &error);
  if (!text && error != ENOENT)
    throw Error(ExitCode::mdev, "cannot read " + path.string() + ": " + std::strerror(error));
  return text;
}

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : trim(text)) {
    if (c == '\n')
      out += ", ";
    else
      out += c;
  }
  return out;
}

std::optional<int> iommu_group_of(const fs::path& device_dir) {
  std::error_code ec;
  const std::string name = fs::read_symlink(device_dir / "iommu_group", ec).filename().string();
  int group = 0;
  const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), group);
  if (ec || err != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return group;
}

}  // namespace

std::vector<std::string> list_parent_names(const Host& host) {
  return sorted_entries(mdev_parent_path(host, ""));
}

std::optional<MdevType> read_type(const Host& host, std::string_view parent,
                                  std::string_view type) {
  if (parent.empty() || type.empty() || parent.find('/') != std::string_view::npos ||
      type.find('/') != std::string_view::npos || parent == "." || parent == ".." || type == "." ||
      type == "..")
    return std::nullopt;
  MdevType t;
  t.parent = parent;
  t.type = type;
  t.dir = mdev_parent_path(host, parent) / "mdev_supported_types" / type;
  const auto available = read_optional(t.dir / "available_instances");
  if (!available) return std::nullopt;  // no such type (or it vanished meanwhile)
  const std::string count = trim(*available);
  const auto [end, err] =
      std::from_chars(count.data(), count.data() + count.size(), t.available_instances);
  if (err != std::errc() || end != count.data() + count.size() || t.available_instances < 0)
    throw Error(ExitCode::mdev, "cannot parse " + (t.dir / "available_instances").string() +
                                    ": \"" + count + "\" is not a count");
  t.device_api = trim(read_optional(t.dir / "device_api").value_or(""));
  if (auto name = read_optional(t.dir / "name")) t.name = trim(*name);
  if (auto description = read_optional(t.dir / "description"))
    t.description = one_line(*description);
  for (const auto& entry : sorted_entries(t.dir / "devices"))
    if (auto uuid = normalize_uuid(entry)) t.devices.push_back(*uuid);
  std::sort(t.devices.begin(), t.devices.end());
  return t;
}

std::vector<MdevParent> list_parents(const Host& host) {
  std::vector<MdevParent> parents;
  for (const auto& name : list_parent_names(host)) {
    MdevParent parent;
    parent.name = name;
    parent.dir = mdev_parent_path(host, name);
    for (const auto& type : sorted_entries(parent.dir / "mdev_supported_types"))
      if (auto t = read_type(host, name, type)) parent.types.push_back(std::move(*t));
    parents.push_back(std::move(parent));
  }
  return parents;
}

fs::path mdev_device_path(const Host& host, std::string_view uuid) {
  return host.sys / "bus" / "mdev" / "devices" / uuid;
}

fs::path mdev_parent_path(const Host& host, std::string_view parent) {
  return host.sys / "class" / "mdev_bus" / parent;
}

std::optional<MdevDevice> find_device(const Host& host, std::string_view uuid) {
  const auto lower = normalize_uuid(uuid);
  if (!lower) return std::nullopt;
  MdevDevice device;
  device.uuid = *lower;
  device.sysfs_path = mdev_device_path(host, *lower);
  std::error_code ec;
  const fs::path real = fs::canonical(device.sysfs_path, ec);
  if (ec) return std::nullopt;
  device.parent = real.parent_path().filename().string();
  device.type = fs::read_symlink(real / "mdev_type", ec).filename().string();
  if (ec) device.type.clear();
  device.iommu_group = iommu_group_of(real);
  return device;
}

std::vector<MdevDevice> list_devices(const Host& host) {
  std::vector<MdevDevice> devices;
  for (const auto& entry : sorted_entries(mdev_device_path(host, "")))
    if (is_uuid(entry))
      if (auto device = find_device(host, entry)) devices.push_back(std::move(*device));
  return devices;
}

}  // namespace mdevrun

#include "instance/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "os/private_path.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace {

using nlohmann::json;

json to_json(const InstanceState& s) {
  json mdevs = json::array();
  for (const auto& m : s.mdevs)
    mdevs.push_back({{"id", m.id},
                     {"uuid", m.uuid},
                     {"parent", m.parent},
                     {"type", m.type},
                     {"created", m.created}});
  json j = {{"name", s.name},      {"profile", s.profile.string()}, {"supervisor_pid", nullptr},
            {"qemu_pid", nullptr}, {"started_at", s.started_at},    {"mdevs", mdevs},
            {"sockets", s.sockets}};
  if (!s.slices.empty()) {
    json slices = json::array();
    for (const auto& r : s.slices) {
      json e = {{"id", r.id}, {"mechanism", to_string(r.mechanism)}, {"address", r.address}};
      if (r.pf) e["pf"] = *r.pf;
      if (r.vf_index) e["vf"] = *r.vf_index;
      if (r.driver) e["driver"] = *r.driver;
      if (r.iommu_group) e["iommu_group"] = *r.iommu_group;
      if (r.vgpu_type) e["vgpu_type"] = *r.vgpu_type;
      if (r.vgpu_name) e["vgpu_name"] = *r.vgpu_name;
      slices.push_back(std::move(e));
    }
    j["slices"] = std::move(slices);
  }
  if (s.supervisor_pid) j["supervisor_pid"] = *s.supervisor_pid;
  if (s.qemu_pid) j["qemu_pid"] = *s.qemu_pid;
  return j;
}

std::optional<pid_t> optional_pid(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<pid_t>();
}

InstanceState from_json(const json& j) {
  InstanceState s;
  s.name = j.at("name").get<std::string>();
  s.profile = j.value("profile", std::string());
  s.supervisor_pid = optional_pid(j, "supervisor_pid");
  s.qemu_pid = optional_pid(j, "qemu_pid");
  s.started_at = j.value("started_at", std::int64_t{0});
  for (const auto& m : j.value("mdevs", json::array()))
    s.mdevs.push_back({m.at("id").get<std::string>(), m.at("uuid").get<std::string>(),
                       m.value("parent", std::string()), m.value("type", std::string()),
                       m.value("created", false)});
  for (const auto& e : j.value("slices", json::array())) {
    ResolvedSlice r;
    r.id = e.at("id").get<std::string>();
    r.mechanism =
        parse_choice<SliceMechanism>(e.at("mechanism").get<std::string>()).value_or(r.mechanism);
    r.address = e.at("address").get<std::string>();
    if (e.contains("pf")) r.pf = e.at("pf").get<std::string>();
    if (e.contains("vf")) r.vf_index = e.at("vf").get<int>();
    if (e.contains("driver")) r.driver = e.at("driver").get<std::string>();
    if (e.contains("iommu_group")) r.iommu_group = e.at("iommu_group").get<int>();
    if (e.contains("vgpu_type")) r.vgpu_type = e.at("vgpu_type").get<int>();
    if (e.contains("vgpu_name")) r.vgpu_name = e.at("vgpu_name").get<std::string>();
    r.exists = true;
    s.slices.push_back(std::move(r));
  }
  if (j.contains("sockets")) s.sockets = j.at("sockets").get<std::map<std::string, std::string>>();
  return s;
}

}  // namespace

std::optional<InstanceState> load_state(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) require_private(path, PathKind::regular_file);  // names the symlink
    throw Error(ExitCode::failure,
                "cannot read state file " + path.string() + ": " + std::strerror(errno));
  }
  try {
    // It says which mdevs get removed: only our own, private file is believed.
    require_private_fd(fd, path, PathKind::regular_file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw Error(ExitCode::failure,
                  "cannot read state file " + path.string() + ": " + std::strerror(error));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  try {
    return from_json(json::parse(text));
  } catch (const json::exception& e) {
    throw Error(ExitCode::failure, "state file " + path.string() + " is damaged (" + e.what() +
                                       "): stop the instance with --force or remove the file");
  }
}

void save_state(const std::filesystem::path& path, const InstanceState& state) {
  const std::string text = to_json(state).dump(2) + "\n";
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(ExitCode::failure,
                "cannot write state file " + path.string() + " (" + what + "): " + reason);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("create");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  // No fsync: the rename alone makes the new state whole or absent for any reader and after any
  // crash of ours. What it would add is durability across a power loss or kernel crash, and the
  // state describes nothing that outlives one (qemu, the supervisor, mdevs, VFs and driver
  // bindings all end with the kernel). It cost 3 ms per save on a runtime folder on disk, three
  // saves before qemu is ready. (The intent journal keeps its fdatasync for now; its records come
  // with sysfs writes that cost more.)
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

}  // namespace mdevrun

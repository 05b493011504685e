#include "devices/mdev_ensure.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <set>
#include <thread>

#include "base/did_you_mean.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"
#include "devices/mdev_discovery.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string no_parent_message(const Host& host) {
  return "no mdev-capable device is registered (" + (host.sys / "class" / "mdev_bus").string() +
         " is empty or missing): load the parent device's mdev driver; run `mdevrun check` for "
         "details";
}

std::string no_free_message(std::string_view type, std::string_view parents,
                            std::string_view detail) {
  return "mdev type " + in_quotes(type) + " has no free instance on " + std::string(parents) +
         " (" + std::string(detail) + "): stop a VM that uses one, or pick another type";
}

[[noreturn]] void create_failed(int error, const std::string& uuid, const MdevType& type) {
  const std::string create = (type.dir / "create").string();
  const std::string code = errno_name(error);
  switch (error) {
    case ENOSPC:
    case EUSERS:
      throw Error(ExitCode::mdev, no_free_message(type.type, type.parent,
                                                  "create failed with " + code +
                                                      " although available_instances was " +
                                                      std::to_string(type.available_instances)));
    case EEXIST:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid +
                                      ": the UUID is already in use (EEXIST from " + create +
                                      "): remove that mdev or choose another uuid");
    case EINVAL:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " of type " +
                                      in_quotes(type.type) + " on " + type.parent +
                                      ": the kernel rejected it (EINVAL from " + create +
                                      "): check the kernel log (dmesg)");
    case ENODEV:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " on " + type.parent +
                                      ": the parent device is going away (ENODEV from " + create +
                                      "): check that its driver is still bound");
    case ENOENT:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + ": " + create +
                                      " does not exist (ENOENT): the parent or type went away; run "
                                      "`mdevrun types`");
    case EACCES:
    case EPERM:
      throw Error(ExitCode::permission,
                  "cannot create mdev " + uuid + ": no permission to write " + create + " (" +
                      code +
                      "): run mdevrun as root, or create the mdev once as root (persistently: "
                      "mdevctl define -u " +
                      uuid + " -p " + type.parent + " -t " + type.type +
                      " --auto && mdevctl start -u " + uuid + ") and let mdevrun reuse it");
    default:
      throw Error(ExitCode::mdev, "cannot create mdev " + uuid + " of type " +
                                      in_quotes(type.type) + " on " + type.parent + ": writing " +
                                      create + " failed: " + std::strerror(error) + " (" + code +
                                      ")");
  }
}

class Ensurer {
 public:
  Ensurer(const Host& host, std::string_view profile_name, EnsureMode mode,
          const EnsureOptions& options)
      : host_(host),
        profile_name_(profile_name),
        dry_(mode == EnsureMode::dry_run),
        options_(options) {}

  EnsureResult run(const std::vector<MdevSpec>& specs) {
    const auto uuids = spec_uuids(specs);
    if (!dry_) owned_before_ = options_.owned;
    try {
      for (std::size_t i = 0; i < specs.size(); ++i) {
        ResolvedMdev r;
        r.id = specs[i].id;
        r.uuid = uuids[i];
        r.type = specs[i].type;
        r.parent = specs[i].parent.value_or("");
        r.sysfs_path = host_.sys / "bus" / "mdev" / "devices" / r.uuid;
        if (dry_) {
          try {
            result_.notes.push_back(resolve(specs[i], r));
          } catch (const Error& e) {
            result_.notes.push_back(std::string("start would fail: ") + e.what());
          }
          result_.mdevs.push_back(std::move(r));
          continue;
        }
        lock(r);
        resolve(specs[i], r);
      }
      save_state();
    } catch (...) {
      rollback();
      throw;
    }
    return std::move(result_);
  }

 private:
  std::vector<std::string> spec_uuids(const std::vector<MdevSpec>& specs) const {
    std::vector<std::string> uuids;
    for (const auto& spec : specs) {
      std::string uuid;
      if (spec.uuid) {
        auto normal = normalize_uuid(*spec.uuid);
        if (!normal)
          throw Error(ExitCode::usage, "profile device " + in_quotes(spec.id) + ": uuid " +
                                           in_quotes(*spec.uuid) + " is not a UUID");
        uuid = *normal;
      } else {
        uuid = derive_mdev_uuid(profile_name_, spec.id);
      }
      for (std::size_t j = 0; j < uuids.size(); ++j)
        if (uuids[j] == uuid)
          throw Error(ExitCode::usage, "profile devices " + in_quotes(specs[j].id) + " and " +
                                           in_quotes(spec.id) + " use the same mdev uuid " + uuid +
                                           ": give each device its own uuid");
      uuids.push_back(uuid);
    }
    return uuids;
  }

  // Hands every device resolved so far to the caller's recorder (the instance's state file).
  void save_state() {
    if (dry_ || !options_.record) return;
    std::vector<MdevRecord> records;
    for (const auto& r : result_.mdevs)
      records.push_back({r.id, r.uuid, r.parent, r.type, r.created});
    options_.record(records);
  }

  void lock(const ResolvedMdev& r) {
    if (options_.lock_dir.empty()) return;
    const fs::path path = options_.lock_dir / (r.uuid + ".lock");
    std::optional<pid_t> holder;
    auto lock = FileLock::try_lock(path, &holder);
    if (!lock)
      throw Error(ExitCode::busy,
                  "mdev " + r.uuid + " is in use by another mdevrun (" +
                      (holder ? "pid " + std::to_string(*holder) + ", " : std::string()) + "lock " +
                      path.string() + "): stop that instance first, or give profile device " +
                      in_quotes(r.id) + " another uuid");
    result_.locks.push_back(std::move(*lock));
  }

  // Fills in `r` (reusing or, unless dry, creating the device) and returns a note for dry runs.
  std::string resolve(const MdevSpec& spec, ResolvedMdev& r) {
    if (auto existing = find_device(host_, r.uuid)) {
      if ((spec.parent && *spec.parent != existing->parent) || spec.type != existing->type)
        throw Error(ExitCode::mdev, "mdev " + r.uuid + " already exists as type " +
                                        in_quotes(existing->type) + " on " + existing->parent +
                                        ", but profile device " + in_quotes(r.id) + " wants type " +
                                        in_quotes(spec.type) + " on " +
                                        (spec.parent ? *spec.parent : std::string("any parent")) +
                                        ": remove that mdev, or give the device another uuid");
      r.parent = existing->parent;
      r.iommu_group = existing->iommu_group;
      r.exists = true;
      r.created = owned_before_.count(r.uuid) > 0;
      if (!dry_) {
        result_.mdevs.push_back(r);
        save_state();
        confirm(result_.mdevs.back());
      }
      return "mdev " + r.uuid + " (type " + in_quotes(r.type) + " on " + r.parent +
             ") exists: start would reuse it";
    }
    std::vector<MdevType> candidates =
        spec.parent ? given_parent(*spec.parent, spec.type) : offering_parents(spec.type);
    const MdevType& first = candidates.front();
    if (dry_) {
      r.parent = first.parent;
      return "start would create mdev " + r.uuid + " of type " + in_quotes(r.type) + " on " +
             r.parent + " (" + std::to_string(first.available_instances) + " free" +
             (spec.parent ? "" : ", parent picked automatically") + ")";
    }
    std::vector<std::string> exhausted;
    for (const auto& type : candidates) {
      const int error = write_sysfs(type.dir / "create", r.uuid);
      if ((error == ENOSPC || error == EUSERS) && !spec.parent) {
        exhausted.push_back(errno_name(error) + " on " + type.parent);
        continue;  // available_instances is only advisory: try the next parent
      }
      if (error != 0) create_failed(error, r.uuid, type);
      r.parent = type.parent;
      r.created = true;
      created_now_.push_back(r.uuid);
      result_.mdevs.push_back(r);
      save_state();  // record ownership before anything else can fail
      confirm(result_.mdevs.back());
      return {};
    }
    std::vector<std::string> names;
    for (const auto& type : candidates) names.push_back(type.parent);
    throw Error(ExitCode::mdev, no_free_message(spec.type, join(names, " or "),
                                                "create failed with " + join(exhausted) +
                                                    "; available_instances was stale"));
  }

  // The type on the named parent, checked: registered, offered, with a free instance.
  std::vector<MdevType> given_parent(const std::string& parent, const std::string& type) const {
    const auto parents = list_parent_names(host_);
    if (parents.empty()) throw Error(ExitCode::mdev, no_parent_message(host_));
    if (std::find(parents.begin(), parents.end(), parent) == parents.end()) {
      std::string message = "mdev parent " + in_quotes(parent) + " is not registered (no " +
                            (host_.sys / "class" / "mdev_bus" / parent).string() + ")";
      if (auto suggestion = did_you_mean(parent, parents))
        message += ": did you mean " + in_quotes(*suggestion) + "?";
      else
        message += ": registered parents are " + join(parents) + "; run `mdevrun types`";
      throw Error(ExitCode::mdev, message);
    }
    auto found = read_type(host_, parent, type);
    if (!found) {
      std::vector<std::string> offered;
      std::vector<std::string> elsewhere;
      for (const auto& p : list_parents(host_))
        for (const auto& t : p.types) {
          if (p.name == parent) offered.push_back(t.type);
          if (p.name != parent && t.type == type) elsewhere.push_back(p.name);
        }
      std::string message = "mdev type " + in_quotes(type) + " is not offered by " + parent;
      if (auto suggestion = did_you_mean(type, offered))
        message += ": did you mean " + in_quotes(*suggestion) + "?";
      else if (!elsewhere.empty())
        message += ": it is offered by " + join(elsewhere) + "; fix or omit the device's parent";
      else if (offered.empty())
        message += ": it offers no types";
      else
        message += ": it offers " + join(offered) + "; run `mdevrun types`";
      throw Error(ExitCode::mdev, message);
    }
    if (found->available_instances <= 0)
      throw Error(ExitCode::mdev, no_free_message(type, parent, "available_instances 0"));
    return {*found};
  }

  // Every parent offering `type` with a free instance, in sorted parent order.
  std::vector<MdevType> offering_parents(const std::string& type) const {
    const auto parents = list_parents(host_);
    if (parents.empty()) throw Error(ExitCode::mdev, no_parent_message(host_));
    std::vector<MdevType> offering;
    std::set<std::string> all_types;
    for (const auto& p : parents)
      for (const auto& t : p.types) {
        all_types.insert(t.type);
        if (t.type == type) offering.push_back(t);
      }
    if (offering.empty()) {
      std::string message = "no registered mdev parent offers type " + in_quotes(type);
      if (auto suggestion = did_you_mean(type, {all_types.begin(), all_types.end()}))
        message += ": did you mean " + in_quotes(*suggestion) + "?";
      else
        message += ": run `mdevrun types` to see the types on offer";
      throw Error(ExitCode::mdev, message);
    }
    std::vector<MdevType> free;
    std::vector<std::string> names;
    for (const auto& t : offering) {
      names.push_back(t.parent);
      if (t.available_instances > 0) free.push_back(t);
    }
    if (free.empty())
      throw Error(ExitCode::mdev,
                  no_free_message(type, join(names, " or "), "available_instances 0"));
    return free;
  }

  // Checks that the device, its IOMMU group and its /dev/vfio node are there (bounded wait for
  // the node: udev may still be creating it).
  void confirm(ResolvedMdev& r) const {
    const auto device = find_device(host_, r.uuid);
    if (!device)
      throw Error(ExitCode::mdev, "mdev " + r.uuid + " did not appear at " + r.sysfs_path.string() +
                                      ": check the kernel log (dmesg)");
    r.exists = true;
    r.iommu_group = device->iommu_group;
    if (!r.iommu_group)
      throw Error(ExitCode::mdev, "mdev " + r.uuid + " has no IOMMU group (no " +
                                      (r.sysfs_path / "iommu_group").string() +
                                      "): check that the vfio and vfio_iommu_type1 modules are "
                                      "loaded and the parent driver supports vfio");
    const fs::path node = host_.vfio_node(*r.iommu_group);
    const auto deadline = Clock::now() + options_.vfio_node_timeout;
    std::error_code ec;
    while (!fs::exists(node, ec)) {
      if (Clock::now() >= deadline)
        throw Error(ExitCode::mdev,
                    "mdev " + r.uuid + " is in IOMMU group " + std::to_string(*r.iommu_group) +
                        " but " + node.string() + " did not appear within " +
                        format_seconds(options_.vfio_node_timeout) +
                        ": check that udev is running and the vfio module is loaded");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Removes what this call created (newest first) and forgets it; best effort.
  void rollback() noexcept {
    std::string failures;
    for (auto it = created_now_.rbegin(); it != created_now_.rend(); ++it) {
      try {
        remove_mdev(host_, *it, options_.rollback);
      } catch (const std::exception& e) {
        failures += std::string("; ") + e.what();
      }
    }
    std::erase_if(result_.mdevs, [&](const ResolvedMdev& r) {
      return std::find(created_now_.begin(), created_now_.end(), r.uuid) != created_now_.end();
    });
    try {
      save_state();
    } catch (const std::exception& e) {
      failures += std::string("; ") + e.what();
    }
    result_.locks.clear();
    rollback_failures_ = failures;
  }

 public:
  std::string rollback_failures_;

 private:
  const Host& host_;
  std::string_view profile_name_;
  bool dry_;
  const EnsureOptions& options_;
  EnsureResult result_;
  std::set<std::string> owned_before_;
  std::vector<std::string> created_now_;
};

}  // namespace

EnsureResult ensure_mdevs(const Host& host, std::string_view profile_name,
                          const std::vector<MdevSpec>& specs, EnsureMode mode,
                          const EnsureOptions& options) {
  Ensurer ensurer(host, profile_name, mode, options);
  try {
    return ensurer.run(specs);
  } catch (const Error& e) {
    if (ensurer.rollback_failures_.empty()) throw;
    throw Error(e.code(), e.what() + ensurer.rollback_failures_);
  }
}

}  // namespace mdevrun

#include "devices/mdev_ensure.hpp"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "base/text.hpp"
#include "devices/mdev_discovery.hpp"
#include "devices/mdev_errors.hpp"
#include "devices/mdev_plan.hpp"
#include "os/sysfs_write.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Applies plans one spec at a time (each planned after the previous one was applied, so free
// instance counts are current), under the spec's UUID lock, recording ownership before anything
// else can fail and rolling back what this call created on any failure.
class Ensurer {
 public:
  Ensurer(const Host& host, std::string_view profile_name, EnsureMode mode,
          const EnsureOptions& options)
      : host_(host),
        profile_name_(profile_name),
        dry_(mode == EnsureMode::dry_run),
        options_(options) {}

  EnsureResult run(const std::vector<MdevSpec>& specs) {
    const auto uuids = mdev_uuids(profile_name_, specs);
    if (dry_) return dry_run(specs, uuids);
    owned_before_ = options_.owned;
    try {
      for (std::size_t i = 0; i < specs.size(); ++i) {
        lock(specs[i].id, uuids[i]);
        apply(plan_mdev(host_, specs[i], uuids[i]));
      }
      save_state();
    } catch (...) {
      rollback();
      throw;
    }
    return std::move(result_);
  }

 private:
  // Nothing written or locked; what would fail becomes a note, and every spec still gets a
  // ResolvedMdev (exists=false when missing).
  EnsureResult dry_run(const std::vector<MdevSpec>& specs, const std::vector<std::string>& uuids) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      try {
        MdevPlan plan = plan_mdev(host_, specs[i], uuids[i]);
        plan.mdev.exists = plan.action == MdevPlan::Action::reuse;
        result_.notes.push_back(plan.note());
        result_.mdevs.push_back(std::move(plan.mdev));
      } catch (const Error& e) {
        result_.notes.push_back(std::string("start would fail: ") + e.what());
        ResolvedMdev r;
        r.id = specs[i].id;
        r.uuid = uuids[i];
        r.type = specs[i].type;
        r.parent = specs[i].parent.value_or("");
        r.sysfs_path = mdev_device_path(host_, uuids[i]);
        result_.mdevs.push_back(std::move(r));
      }
    }
    return std::move(result_);
  }

  // Hands every device resolved so far to the caller's recorder (the instance's state file).
  void save_state() {
    if (!options_.record) return;
    std::vector<MdevRecord> records;
    for (const auto& r : result_.mdevs)
      records.push_back({r.id, r.uuid, r.parent, r.type, r.created});
    options_.record(records);
  }

  void lock(const std::string& id, const std::string& uuid) {
    if (options_.lock_dir.empty()) return;
    const fs::path path = options_.lock_dir / (uuid + ".lock");
    const std::uint64_t intent =
        options_.log
            ? options_.log->intend({DeviceChange::Kind::lock_mdev, {id, uuid, {}, {}, false}})
            : 0;
    std::optional<pid_t> holder;
    auto lock = FileLock::try_lock(path, &holder);
    if (options_.log) options_.log->finish(intent, lock ? 0 : EWOULDBLOCK);
    if (!lock)
      throw Error(ExitCode::busy,
                  "mdev " + uuid + " is in use by another mdevrun (" +
                      (holder ? "pid " + std::to_string(*holder) + ", " : std::string()) + "lock " +
                      path.string() + "): stop that instance first, or give profile device " +
                      in_quotes(id) + " another uuid");
    result_.locks.push_back(std::move(*lock));
  }

  void apply(MdevPlan plan) {
    ResolvedMdev& r = plan.mdev;
    if (plan.action == MdevPlan::Action::reuse) {
      r.exists = true;
      r.created = owned_before_.count(r.uuid) > 0;
      result_.mdevs.push_back(r);
      save_state();
      confirm(result_.mdevs.back());
      return;
    }
    std::vector<std::string> exhausted;
    for (const auto& type : plan.candidates) {
      const std::uint64_t intent =
          options_.log ? options_.log->intend({DeviceChange::Kind::create_mdev,
                                               {r.id, r.uuid, type.parent, r.type, true}})
                       : 0;
      const int error = write_sysfs(type.dir / "create", r.uuid);
      if (options_.log) options_.log->finish(intent, error);
      if ((error == ENOSPC || error == EUSERS) && !plan.parent_given) {
        exhausted.push_back(errno_name(error) + " on " + type.parent);
        continue;  // available_instances is only advisory: try the next parent
      }
      if (error != 0) throw_create_failed(error, r.uuid, type);
      r.parent = type.parent;
      r.created = true;
      created_now_.push_back(r.uuid);
      result_.mdevs.push_back(r);
      save_state();  // record ownership before anything else can fail
      confirm(result_.mdevs.back());
      return;
    }
    std::vector<std::string> names;
    for (const auto& type : plan.candidates) names.push_back(type.parent);
    throw Error(ExitCode::mdev, no_free_message(r.type, join(names, " or "),
                                                "create failed with " + join(exhausted) +
                                                    "; available_instances was stale"));
  }

  // Checks that the device, its IOMMU group and its /dev/vfio node are there (bounded wait for
  // the node: udev may still be creating it).
  // The device of a create whose write succeeded, waited for (bounded): it may appear a moment
  // after the write returns.
  std::optional<MdevDevice> wait_for_device(const std::string& uuid) const {
    const auto deadline = Clock::now() + options_.device_timeout;
    for (;;) {
      if (auto device = find_device(host_, uuid)) return device;
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void confirm(ResolvedMdev& r) const {
    const auto device = r.created ? wait_for_device(r.uuid) : find_device(host_, r.uuid);
    if (!device)
      throw Error(ExitCode::mdev, "mdev " + r.uuid + " did not appear at " + r.sysfs_path.string() +
                                      " within " + format_seconds(options_.device_timeout) +
                                      " of its create: check the kernel log (dmesg)");
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

#include "check/detail/checker.hpp"

#include <unistd.h>

#include <string>

#include "base/error.hpp"
#include "base/uuid.hpp"
#include "devices/mdev_discovery.hpp"

namespace mdevrun::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kUdevRule =
    "echo 'SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\"' | sudo tee "
    "/etc/udev/rules.d/72-mdevrun-vfio.rules && sudo udevadm control --reload && sudo udevadm "
    "trigger --subsystem-match=vfio, and add the user to kvm: sudo usermod -aG kvm $USER (log in "
    "again)";

}  // namespace

// Without a profile no parent is a FAIL, not a WARN: `check` alone asks whether this host can
// run an mdev VM, and without a parent it cannot run any.
void check_mdev_parents(Checker& c) {
  if (!c.needs_mdev())
    return c.add(pass("mdev-parents", "mdev parents", "none needed (the profile has no mdevs)"));
  const auto names = list_parent_names(c.host.paths);
  if (names.empty()) {
    std::string fix =
        "load the parent device's mdev driver (Intel GVT-g: i915.enable_gvt=1 and "
        "kvmgt; NVIDIA: the vGPU host driver)";
    if (c.i915) fix = "enable GVT-g: i915.enable_gvt=1 and the kvmgt module (see above)";
    if (c.nvidia) fix = "load NVIDIA's vGPU host driver (see above)";
    return c.add(bad(Verdict::fail, "mdev-parents", "mdev parents",
                     "none registered (/sys/class/mdev_bus is empty or missing)", fix));
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  c.add(pass("mdev-parents", "mdev parents", list));
}

void check_profile_mdevs(Checker& c) {
  for (const auto& spec : c.profile->mdevs) {
    const std::string uuid = spec.uuid ? normalize_uuid(*spec.uuid).value_or(*spec.uuid)
                                       : derive_mdev_uuid(c.profile->name, spec.id);
    const std::string id = "mdev:" + spec.id, title = "mdev " + spec.id;
    try {
      if (auto dev = find_device(c.host.paths, uuid)) {
        if (dev->type != spec.type || (spec.parent && dev->parent != *spec.parent)) {
          c.add(bad(Verdict::fail, id, title,
                    uuid + " exists as " + dev->type + " on " + dev->parent +
                        ", the profile wants " + spec.type +
                        (spec.parent ? " on " + *spec.parent : std::string()),
                    "remove it (echo 1 | sudo tee /sys/bus/mdev/devices/" + uuid +
                        "/remove) or give the profile another uuid"));
          continue;
        }
        c.add(pass(id, title,
                   uuid + " exists (" + dev->type + " on " + dev->parent + "): start reuses it"));
        c.existing.push_back({spec.id, *dev});
        continue;
      }
      std::optional<MdevType> type;
      if (spec.parent) {
        type = read_type(c.host.paths, *spec.parent, spec.type);
        if (!type) {
          c.add(bad(Verdict::fail, id, title,
                    "parent " + *spec.parent + " does not offer type " + spec.type,
                    "pick a parent and type that `mdevrun types` lists"));
          continue;
        }
      } else {
        for (const auto& parent : list_parents(c.host.paths))
          for (const auto& t : parent.types)
            if (t.type == spec.type &&
                (!type || (type->available_instances <= 0 && t.available_instances > 0)))
              type = t;
        if (!type) {
          c.add(bad(Verdict::fail, id, title, "no parent offers type " + spec.type,
                    "pick a type that `mdevrun types` lists"));
          continue;
        }
      }
      if (type->available_instances <= 0) {
        c.add(bad(Verdict::fail, id, title,
                  "type " + spec.type + " on " + type->parent + " has no free instance",
                  "stop a VM that uses one, or pick a smaller type (`mdevrun types`)"));
        continue;
      }
      c.add(pass(id, title,
                 spec.type + " on " + type->parent + " has " +
                     std::to_string(type->available_instances) + " free instance" +
                     (type->available_instances == 1 ? "" : "s") + "; start creates " + uuid));
      if (!c.host.can_access(type->dir / "create", W_OK))
        c.add(bad(Verdict::fail, "mdev-create:" + spec.id, title + " create",
                  "this user cannot write " + (type->dir / "create").string(),
                  "create it once as root and keep it: mdevrun export " + c.profile->file.string() +
                      " --mdevctl | sudo sh (see the README's desktop set-up)"));
      c.missing.push_back(spec.id);
    } catch (const Error& e) {
      c.add(bad(Verdict::fail, id, title, e.what(), "see `mdevrun types`"));
    }
  }
}

void check_vfio_nodes(Checker& c) {
  const fs::path container = c.host.paths.dev / "vfio" / "vfio";
  const char* cid = "vfio-container";
  const char* ctitle = "/dev/vfio/vfio";
  std::error_code ec;
  if (!fs::exists(container, ec))
    c.add(bad(Verdict::fail, cid, ctitle, "missing", persist_module("vfio")));
  else if (!c.host.can_access(container, R_OK | W_OK))
    c.add(
        bad(Verdict::fail, cid, ctitle, "this user cannot open it read-write",
            "sudo chmod 0666 /dev/vfio/vfio (its default mode; check udev rules that change it)"));
  else
    c.add(pass(cid, ctitle, "accessible"));
  // One result per mdev under one id: an mdev either exists (its node is checked) or start
  // would create it (the node cannot be checked yet).
  for (const auto& [id, dev] : c.existing) {
    const std::string gid = "vfio-group:" + id, title = "mdev " + id + " vfio group";
    if (!dev.iommu_group) {
      c.add(bad(Verdict::fail, gid, title,
                "/sys/bus/mdev/devices/" + dev.uuid + " has no iommu_group link",
                "load vfio_iommu_type1 and the vendor's mdev driver, then recreate the mdev"));
      continue;
    }
    const std::string name = "/dev/vfio/" + std::to_string(*dev.iommu_group);
    const fs::path node = c.host.paths.vfio_node(*dev.iommu_group);
    if (!fs::exists(node, ec))
      c.add(bad(Verdict::fail, gid, title, "missing",
                "check that vfio and the vendor's mdev driver are loaded (dmesg)", name));
    else if (!c.host.can_access(node, R_OK | W_OK))
      c.add(bad(Verdict::fail, gid, title, "this user cannot open it", kUdevRule, name));
    else
      c.add(pass(gid, title, name + " is accessible"));
  }
  if (!c.host.root)
    for (const auto& id : c.missing)
      c.add(bad(Verdict::warn, "vfio-group:" + id, "mdev " + id + " vfio group",
                "the mdev does not exist yet, so its /dev/vfio node's access cannot be checked",
                "create the mdev once as root, and give the user's group the node: " +
                    std::string(kUdevRule)));
}

}  // namespace mdevrun::detail

#include "devices/mdev_plan.hpp"

#include <algorithm>
#include <set>

#include "base/did_you_mean.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"
#include "devices/mdev_errors.hpp"

namespace mdevrun {
namespace {

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// The type on the named parent, checked: registered, offered, with a free instance.
std::vector<MdevType> given_parent(const Host& host, const std::string& parent,
                                   const std::string& type) {
  const auto parents = list_parent_names(host);
  if (parents.empty()) throw Error(ExitCode::mdev, no_parent_message(host));
  if (std::find(parents.begin(), parents.end(), parent) == parents.end()) {
    std::string message = "mdev parent " + in_quotes(parent) + " is not registered (no " +
                          mdev_parent_path(host, parent).string() + ")";
    if (auto suggestion = did_you_mean(parent, parents))
      message += ": did you mean " + in_quotes(*suggestion) + "?";
    else
      message += ": registered parents are " + join(parents) + "; run `mdevrun types`";
    throw Error(ExitCode::mdev, message);
  }
  auto found = read_type(host, parent, type);
  if (!found) {
    std::vector<std::string> offered;
    std::vector<std::string> elsewhere;
    for (const auto& p : list_parents(host))
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
std::vector<MdevType> offering_parents(const Host& host, const std::string& type) {
  const auto parents = list_parents(host);
  if (parents.empty()) throw Error(ExitCode::mdev, no_parent_message(host));
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

}  // namespace

std::vector<std::string> mdev_uuids(std::string_view profile_name,
                                    const std::vector<MdevSpec>& specs) {
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
      uuid = derive_mdev_uuid(profile_name, spec.id);
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

std::string MdevPlan::note() const {
  if (action == Action::reuse)
    return "mdev " + mdev.uuid + " (type " + in_quotes(mdev.type) + " on " + mdev.parent +
           ") exists: start would reuse it";
  return "start would create mdev " + mdev.uuid + " of type " + in_quotes(mdev.type) + " on " +
         mdev.parent + " (" + std::to_string(candidates.front().available_instances) + " free" +
         (parent_given ? "" : ", parent picked automatically") + ")";
}

MdevPlan plan_mdev(const Host& host, const MdevSpec& spec, const std::string& uuid) {
  MdevPlan plan;
  plan.parent_given = spec.parent.has_value();
  ResolvedMdev& r = plan.mdev;
  r.id = spec.id;
  r.uuid = uuid;
  r.type = spec.type;
  r.parent = spec.parent.value_or("");
  r.sysfs_path = mdev_device_path(host, uuid);
  if (auto existing = find_device(host, uuid)) {
    if ((spec.parent && *spec.parent != existing->parent) || spec.type != existing->type)
      throw Error(ExitCode::mdev, "mdev " + uuid + " already exists as type " +
                                      in_quotes(existing->type) + " on " + existing->parent +
                                      ", but profile device " + in_quotes(r.id) + " wants type " +
                                      in_quotes(spec.type) + " on " +
                                      (spec.parent ? *spec.parent : std::string("any parent")) +
                                      ": remove that mdev, or give the device another uuid");
    plan.action = MdevPlan::Action::reuse;
    r.parent = existing->parent;
    r.iommu_group = existing->iommu_group;
    return plan;
  }
  plan.candidates =
      spec.parent ? given_parent(host, *spec.parent, spec.type) : offering_parents(host, spec.type);
  r.parent = plan.candidates.front().parent;
  return plan;
}

}  // namespace mdevrun

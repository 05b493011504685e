#pragma once
// What `mdevrun types` prints: a table for people, JSON for scripts.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/mdev_discovery.hpp"
#include "os/host.hpp"

namespace mdevrun {

/// Columns PARENT TYPE NAME AVAILABLE API DEVICES DESCRIPTION, one row per type, in the (sorted)
/// order given; "-" for an absent name or no devices. With no parent at all: one line saying that
/// no mdev-capable device is registered, pointing to `mdevrun check`.
std::string format_types_table(const std::vector<MdevParent>& parents, const Host& host);

/// An array with one object per type: {"parent", "type", "name" (null if absent),
/// "available_instances", "device_api", "description" (null if absent), "devices": [uuid...]}.
nlohmann::json types_json(const std::vector<MdevParent>& parents);

}  // namespace mdevrun

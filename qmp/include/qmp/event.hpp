#pragma once
// Asynchronous events pushed by QEMU and the filter a listener selects them with.
// Plain data. The predicate of an event_filter runs on the client's executor thread, synchronously
// while the message is routed: keep it cheap and do not call back into the client from it.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qmp/reply.hpp"

namespace qmp {

/// `{"event": name, "data": {...}, "timestamp": {"seconds": s, "microseconds": us}}`.
struct event {
  std::string name;
  json data = json::object();  ///< always an object (empty when qemu sent no data)
  std::int64_t seconds = 0;
  std::int64_t microseconds = 0;

  /// The event as qemu sent it (one JSON object), e.g. for printing as a JSON line.
  json to_json() const {
    return {{"event", name},
            {"data", data},
            {"timestamp", {{"seconds", seconds}, {"microseconds", microseconds}}}};
  }
};

/// Which events a listener receives: name in `names` (empty = every name) and `predicate` true
/// (unset = always).
struct event_filter {
  std::vector<std::string> names;
  std::function<bool(const event&)> predicate;

  bool matches(const event& e) const {
    if (!names.empty()) {
      bool found = false;
      for (const auto& n : names) found = found || n == e.name;
      if (!found) return false;
    }
    return !predicate || predicate(e);
  }
};

/// Filter for events whose `data.device` equals `device_id` (DEVICE_DELETED and friends).
inline event_filter device_event_filter(std::vector<std::string> names, std::string device_id) {
  return {std::move(names), [id = std::move(device_id)](const event& e) {
            auto it = e.data.find("device");
            return it != e.data.end() && it->is_string() && it->get_ref<const std::string&>() == id;
          }};
}

}  // namespace qmp

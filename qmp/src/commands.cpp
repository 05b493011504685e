#include "qmp/commands.hpp"

#include <memory>

namespace qmp {
namespace {

template <class T>
T get_or(const json& obj, const char* key, T fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->get<std::string>() : fallback;
  } else if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->get<bool>() : fallback;
  } else {
    return it->is_number_integer() ? it->get<T>() : fallback;
  }
}

void collect_pci(const json& devices, std::vector<pci_device>& out, int depth) {
  if (!devices.is_array() || depth > 32) return;
  for (const auto& d : devices) {
    pci_device p;
    p.bus = get_or(d, "bus", 0);
    p.slot = get_or(d, "slot", 0);
    p.function = get_or(d, "function", 0);
    if (auto it = d.find("id"); it != d.end()) {
      p.vendor_id = get_or(*it, "vendor", 0);
      p.device_id = get_or(*it, "device", 0);
    }
    if (auto it = d.find("class_info"); it != d.end()) {
      p.class_code = get_or(*it, "class", 0);
      p.class_desc = get_or(*it, "desc", std::string());
    }
    p.qdev_id = get_or(d, "qdev_id", std::string());
    out.push_back(std::move(p));
    if (auto bridge = d.find("pci_bridge"); bridge != d.end() && bridge->is_object()) {
      if (auto devs = bridge->find("devices"); devs != bridge->end()) {
        collect_pci(*devs, out, depth + 1);
      }
    }
  }
}

}  // namespace

status_info parse_status(const json& value) {
  return {get_or(value, "status", std::string()), get_or(value, "running", false)};
}

std::vector<pci_device> parse_pci(const json& value) {
  std::vector<pci_device> out;
  if (!value.is_array()) return out;
  for (const auto& bus : value) {
    if (bus.is_object()) {
      if (auto devs = bus.find("devices"); devs != bus.end()) collect_pci(*devs, out, 0);
    }
  }
  return out;
}

std::vector<qom_property> parse_qom_list(const json& value) {
  std::vector<qom_property> out;
  if (!value.is_array()) return out;
  for (const auto& p : value) {
    out.push_back({get_or(p, "name", std::string()), get_or(p, "type", std::string())});
  }
  return out;
}

std::string_view to_string(unplug_outcome o) noexcept {
  switch (o) {
    case unplug_outcome::done:
      return "done";
    case unplug_outcome::rejected:
      return "rejected";
    case unplug_outcome::pending:
      return "pending";
    case unplug_outcome::failed:
      return "failed";
  }
  return "unknown";
}

void async_device_del(client& c, std::string device_id, std::chrono::milliseconds timeout,
                      unplug_handler handler) {
  struct op_state {
    op_state(client& c, const std::string& id, unplug_handler h)
        : events(c, device_event_filter({"DEVICE_DELETED", "DEVICE_UNPLUG_GUEST_ERROR"}, id)),
          handler(std::move(h)) {}
    listener events;  // registered before device_del is sent
    unplug_handler handler;
  };
  auto op = std::make_shared<op_state>(c, device_id, std::move(handler));
  const auto start = std::chrono::steady_clock::now();
  c.async_execute(
      "device_del", json{{"id", device_id}}, timeout, [op, start, timeout](error_code ec, reply r) {
        if (ec) {
          op->handler(ec, {});
          return;
        }
        if (r.error) {
          op->handler({}, {unplug_outcome::failed, std::move(r.error), std::nullopt});
          return;
        }
        auto remaining = std::chrono::milliseconds::zero();  // zero: no bound
        if (timeout > std::chrono::milliseconds::zero()) {
          const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start);
          remaining = std::max(timeout - elapsed, std::chrono::milliseconds(1));
        }
        op->events.async_wait(remaining, [op](error_code ec, event e) {
          auto h = std::move(op->handler);
          if (ec == error::timeout) {
            h({}, {unplug_outcome::pending, std::nullopt, std::nullopt});
          } else if (ec) {
            h(ec, {});
          } else {
            const auto outcome =
                e.name == "DEVICE_DELETED" ? unplug_outcome::done : unplug_outcome::rejected;
            h({}, {outcome, std::nullopt, std::move(e)});
          }
        });
      });
}

}  // namespace qmp

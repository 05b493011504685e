#pragma once
// Typed helpers for the commands mdevrun uses: argument builders and reply parsers (pure, no I/O),
// and the device_del-with-completion operation on the async client. The blocking facade
// (blocking_client.hpp) wraps each of them.
//
// Threading and lifetime: as client.hpp. Parsers never throw: a field qemu did not send keeps its
// default value. A QEMU error reply is a value (typed_reply::error, unplug_result::error).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/event.hpp"
#include "qmp/reply.hpp"

namespace qmp {

/// A reply whose value was parsed into T; `value` is default-constructed when `error` is set.
template <class T>
struct typed_reply {
  T value{};
  std::optional<qmp_error> error;
  bool ok() const noexcept { return !error.has_value(); }
};

/// query-status: `{"status": "running"|"paused"|"prelaunch"|..., "running": bool}`.
struct status_info {
  std::string status;
  bool running = false;
};
status_info parse_status(const json& value);

/// One function of query-pci, buses and bridges flattened.
struct pci_device {
  int bus = 0;
  int slot = 0;
  int function = 0;
  int vendor_id = 0;
  int device_id = 0;
  int class_code = 0;
  std::string class_desc;
  std::string qdev_id;  ///< the -device id, empty when none
};
std::vector<pci_device> parse_pci(const json& value);

/// qom-list: `[{"name": ..., "type": ...}]`.
struct qom_property {
  std::string name;
  std::string type;
};
std::vector<qom_property> parse_qom_list(const json& value);

/// How a device_del ended.
enum class unplug_outcome {
  done,      ///< DEVICE_DELETED with data.device == id arrived
  rejected,  ///< DEVICE_UNPLUG_GUEST_ERROR with data.device == id: the guest refused
  pending,   ///< device_del was accepted but no completion event came within the timeout
  failed,    ///< qemu refused device_del itself (e.g. DeviceNotFound): see unplug_result::error
};
std::string_view to_string(unplug_outcome o) noexcept;

struct unplug_result {
  unplug_outcome outcome = unplug_outcome::pending;
  std::optional<qmp_error> error;   ///< set when outcome is failed
  std::optional<event> completion;  ///< the DEVICE_DELETED or DEVICE_UNPLUG_GUEST_ERROR event
};

using unplug_handler = detail::unique_function<void(error_code, unplug_result)>;

/// Registers a listener for DEVICE_DELETED / DEVICE_UNPLUG_GUEST_ERROR of `device_id`, sends
/// device_del, then waits for one of them; the whole operation is bounded by `timeout`. Completes
/// with an error_code only for transport failures (error::timeout when even the device_del reply
/// did not come, disconnected, ...). The event may arrive before the device_del reply: it is not
/// lost. The client must outlive the operation.
void async_device_del(client& c, std::string device_id, std::chrono::milliseconds timeout,
                      unplug_handler handler);

}  // namespace qmp

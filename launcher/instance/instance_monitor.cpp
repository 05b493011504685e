#include "instance/instance_monitor.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "instance/instance_registry.hpp"
#include "instance/qmp_exit_code.hpp"

namespace mdevrun {

RunningInstance find_running_instance(const Host& host, const std::string& name_or_profile) {
  const std::string name = instance_name_from_arg(name_or_profile);
  RuntimeDir runtime = RuntimeDir::of(host);
  InstanceState state = running_instance_state(host, name);
  std::filesystem::path socket = runtime.monitor_socket(name);
  return {std::move(runtime), std::move(state), std::move(socket)};
}

void connect_to_supervisor(qmp::blocking_client& client, const RunningInstance& instance,
                           std::chrono::milliseconds timeout) {
  try {
    client.connect(instance.socket.string(), timeout);
  } catch (const qmp::connect_error& e) {
    throw supervisor_unreachable(instance, e);
  }
}

Error supervisor_unreachable(const RunningInstance& instance, const qmp::connect_error& why) {
  const std::string pid = instance.state.supervisor_pid
                              ? " (pid " + std::to_string(*instance.state.supervisor_pid) + ")"
                              : "";
  return Error(exit_code_for(why.code()), "the supervisor of " + instance.state.name + pid +
                                              " does not answer on " + instance.socket.string() +
                                              " (" + why.what() +
                                              "); if it died, `mdevrun list` cleans up");
}

InstanceMonitor connect_instance(const Host& host, const std::string& name_or_profile,
                                 std::chrono::milliseconds timeout) {
  RunningInstance found = find_running_instance(host, name_or_profile);
  auto client = std::make_unique<qmp::blocking_client>();
  connect_to_supervisor(*client, found, timeout);
  return {std::move(found.runtime), host, std::move(found.state), std::move(client)};
}

std::vector<std::string> attached_device_ids(qmp::blocking_client& monitor) {
  std::vector<std::string> ids;
  for (const auto& p : monitor.qom_list("/machine/peripheral").value)
    if (p.type.starts_with("child<")) ids.push_back(p.name);
  std::sort(ids.begin(), ids.end());
  return ids;
}

qmp::json query_mdevrun(InstanceMonitor& m) {
  return translating_qmp_errors([&] {
    const qmp::reply r = m.qmp->execute("query-mdevrun");
    if (r.error) throw Error(ExitCode::qmp_error, r.error->to_string());
    return r.value;
  });
}

}  // namespace mdevrun

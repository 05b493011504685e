#include "instance/instance_monitor.hpp"

#include "base/error.hpp"
#include "instance/instance_registry.hpp"
#include "instance/qmp_exit_code.hpp"

namespace mdevrun {

InstanceMonitor connect_instance(const Host& host, const std::string& name_or_profile,
                                 std::chrono::milliseconds timeout) {
  InstanceMonitor m{RuntimeDir::of(host), host, {}, nullptr};
  const std::string name = instance_name_from_arg(name_or_profile);
  m.state = running_instance_state(m.host, name);
  m.qmp = std::make_unique<qmp::blocking_client>();
  translating_qmp_errors([&] {
    m.qmp->connect(m.runtime.qmp_cli_socket(name).string(), timeout);
    return 0;
  });
  return m;
}

}  // namespace mdevrun

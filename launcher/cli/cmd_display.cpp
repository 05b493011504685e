// `mdevrun display NAME [--print]`: how to reach the VM's display, from the supervisor's
// query-mdevrun; opens it in remote-viewer when that is installed (and --print is not given).
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "instance/instance_monitor.hpp"
#include "os/process.hpp"

namespace mdevrun::cli {
namespace {
using namespace std::chrono_literals;

struct DisplayOptions {
  std::string target;
  bool print = false;
};

int run_display(const Host& host, const DisplayOptions& o) {
  InstanceMonitor m = connect_instance(host, o.target, 5s);
  const nlohmann::json out = query_mdevrun(m);
  const std::string& name = m.state.name;
  const auto a = out.find("display_access");
  if (a == out.end())  // the profile is no longer readable: the supervisor cannot say
    throw Error(ExitCode::not_found,
                name + ": display " + out.value("display", std::string("unknown")));
  const std::string how = a->value("how", std::string());
  if (!a->contains("uri")) {
    const std::string backend = a->value("backend", std::string());
    if (backend == "none" || backend == "egl-headless")
      throw Error(ExitCode::not_found, name + " has no display to connect to: " + how);
    std::cout << name << ": " << how << "\n";
    return 0;
  }
  const std::string uri = (*a)["uri"].get<std::string>();
  if (o.print) {
    std::cout << uri << "\n";
    return 0;
  }
  const auto viewer = (*a)["viewer"].get<std::vector<std::string>>();
  if (find_in_path(viewer.front()).empty()) {
    std::cout << uri << "\n";
    std::cerr << "mdevrun: " << viewer.front()
              << " is not installed (Debian: apt install virt-viewer); open " << uri
              << " with a viewer of your own\n";
    return 0;
  }
  std::cerr << "mdevrun: opening " << uri << " in " << viewer.front() << "\n";
  ChildOptions co;
  co.output = ChildOptions::Output::inherit;
  co.stdin_null = false;
  Child viewer_process = spawn(viewer, co);
  return viewer_process.wait_until(std::chrono::steady_clock::time_point::max()).value_or(1);
}

}  // namespace

void add_display(CLI::App& app, Action& action) {
  auto o = std::make_shared<DisplayOptions>();
  auto* sub = app.add_subcommand(
      "display", "Open the VM's display in remote-viewer, or print where it is (--print)");
  sub->add_option("name", o->target, "Instance name or profile")->required();
  sub->add_flag("--print", o->print, "Only print the URI (spice+unix://..., vnc://...)");
  sub->callback([o, &action] { action = [o](const Host& host) { return run_display(host, *o); }; });
}

}  // namespace mdevrun::cli

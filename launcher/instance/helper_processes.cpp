#include "instance/helper_processes.hpp"

#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "base/error.hpp"
#include "base/text.hpp"
#include "instance/intent_journal.hpp"
#include "os/crash_point.hpp"
#include "os/process_scan.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The last lines a helper wrote, for the error message.
std::string tail_of(const fs::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > 6 ? lines.size() - 6 : 0; i < lines.size(); ++i)
    out += "\n  | " + lines[i];
  return out.empty() ? " and printed nothing" : out;
}

void make_state_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec)
    throw Error(ExitCode::failure, "cannot create the state folder " + dir.string() + ": " +
                                       ec.message() + "; set MDEVRUN_STATE_DIR to a writable one");
}

}  // namespace

void HelperProcesses::start(const std::vector<HelperCommand>& helpers, IntentJournal& journal,
                            Clock::time_point deadline, const Started& started) {
  for (const HelperCommand& h : helpers) {
    if (h.state_dir) make_state_dir(*h.state_dir);
    journal.intend_helper(h.name, h.socket);
    ChildOptions o;
    o.output = ChildOptions::Output::file;
    o.output_file = h.log;
    o.die_with_parent = true;    // a supervisor killed with SIGKILL takes its helpers along
    o.own_process_group = true;  // a terminal's Ctrl-C is the supervisor's to handle
    o.read_only_folder = h.read_only;
    Child child;
    try {
      child = spawn(h.argv, o);
    } catch (const SpawnError& e) {
      throw Error(
          ExitCode::qemu_start,
          "cannot start " + h.name + ": " + e.what() +
              (e.error == ENOENT
                   ? "; install it (apt-get install " +
                         std::string(h.name == "swtpm" ? "swtpm" : "qemu-system-common") + ")"
                   : ""));
    }
    crash_point("helper spawned");
    const pid_t pid = child.pid();
    children_.push_back({std::move(child), h.name, h.socket, h.log});
    if (started) started(h, pid);
    Child& c = children_.back().child;
    for (;;) {
      if (auto status = c.try_wait())
        throw Error(ExitCode::qemu_start, h.name + " exited while starting (exit status " +
                                              std::to_string(*status) + ")" + tail_of(h.log));
      std::error_code ec;
      if (fs::exists(h.socket, ec) && (!h.ready_by_connect || unix_socket_accepts(h.socket))) break;
      if (Clock::now() >= deadline)
        throw Error(ExitCode::timeout, h.name + " did not open " + h.socket.string() +
                                           " in time; its output is in " + h.log.string() +
                                           " until cleanup" + tail_of(h.log));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void HelperProcesses::stop(std::chrono::milliseconds bound) noexcept {
  while (!children_.empty()) {
    Child& c = children_.back().child;
    c.signal(SIGTERM);
    if (!c.wait_until(Clock::now() + bound)) c.kill_and_reap();
    children_.pop_back();
  }
}

std::vector<HelperProcesses::Status> HelperProcesses::status() {
  std::vector<Status> out;
  for (Running& s : children_)
    out.push_back({s.name, s.child.pid(), s.socket, s.log, s.child.try_wait()});
  return out;
}

}  // namespace mdevrun

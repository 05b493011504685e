// Lifecycle benchmarks, each against a baseline measured in the same run on the same qemu args:
//   start:  `mdevrun start --detach` until it returns (qemu ready) vs exec of the same qemu argv
//           plus a minimal client that waits for the qmp_capabilities reply;  target ratio <= 1.05
//           (printed both as the ratio of the medians and as the median of each run's pair)
//   unplug: whole-process `mdevrun unplug NAME tablet0` vs a minimal client doing device_del and
//           waiting for DEVICE_DELETED (usb-tablet: completes without a guest); target <= +5 ms
//   rss:    the supervisor's peak RSS (VmHWM) while the VM runs;                  target <= 8 MiB
//   mux:    a query-status round trip through the supervisor's multiplexed socket vs straight on
//           qemu's second monitor (same qemu, alternating blocks);              target <= +50 us
//   rss10:  the supervisor's peak RSS with 10 clients connected at once, one of them streaming
//           events, each having made 20 round trips;                            target <= 8 MiB
//   qmp:    whole-process `mdevrun qmp NAME query-status` (by name, through the multiplexer) vs a
//           one-shot socat on the same socket fed the same two commands;       target <= 0.5
//
//   lifecycle_bench MDEVRUN_BINARY [RUNS]      (exit 1 when a target is missed by a wide margin)

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_command.hpp"

extern char** environ;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

pid_t spawn(const std::vector<std::string>& argv, bool quiet = true,
            const char* stdin_file = nullptr) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (stdin_file) posix_spawn_file_actions_addopen(&fa, 0, stdin_file, O_RDONLY, 0);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  if (posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ) != 0) {
    std::fprintf(stderr, "cannot run %s\n", a[0]);
    std::exit(2);
  }
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int run(const std::vector<std::string>& argv, const char* stdin_file = nullptr) {
  int st = 0;
  ::waitpid(spawn(argv, true, stdin_file), &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string capture(const std::vector<std::string>& argv) {
  return mdevrun::testing::run_command(argv).out;
}

// The baseline QMP client: blocking POSIX calls, newline framing, nothing else.
class BareClient {
 public:
  explicit BareClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (ok_) {
      line();  // greeting
      send(R"({"execute":"qmp_capabilities"})");
      line();
    }
  }
  ~BareClient() { ::close(fd_); }
  bool ok() const { return ok_; }
  void send(const std::string& msg) {
    const std::string m = msg + "\n";
    if (::write(fd_, m.data(), m.size()) < 0) ok_ = false;
  }
  std::string line() {
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      char b[4096];
      const ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) return {};
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

long peak_rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

bool wait_for_socket(const fs::path& p, std::chrono::seconds bound) {
  const auto deadline = clock_type::now() + bound;
  while (clock_type::now() < deadline) {
    if (fs::exists(p)) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lifecycle_bench MDEVRUN_BINARY [RUNS]\n");
    return 2;
  }
  // A peer that went away is a failed run to report, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string mdevrun = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 10;
  const fs::path dir = fs::temp_directory_path() / ("mdevrun-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir / "run");
  ::setenv("MDEVRUN_RUNTIME_DIR", (dir / "run").c_str(), 1);
  const fs::path profile = dir / "bench.json";
  std::ofstream(profile) << R"({"name": "bench", "machine": {"accel": "tcg", "memory": "128M",
    "cpus": 1}, "display": {"backend": "none"}, "serial": {"mode": "none"},
    "devices": [{"id": "xhci", "driver": "qemu-xhci"},
                {"id": "tablet0", "driver": "usb-tablet", "properties": {"bus": "xhci.0"}}]})";

  // The baseline runs the very argv mdevrun would, with its sockets in a folder of its own.
  auto qemu_argv =
      nlohmann::json::parse(capture({mdevrun, "start", "--dry-run", "--json", profile.string()}))
          .get<std::vector<std::string>>();
  const fs::path raw_dir = dir / "raw";
  fs::create_directories(raw_dir);
  for (auto& a : qemu_argv) {
    const auto pos = a.find((dir / "run/bench").string());
    if (pos != std::string::npos)
      a.replace(pos, (dir / "run/bench").string().size(), raw_dir.string());
  }

  const fs::path socat_input = dir / "socat.in";
  std::ofstream(socat_input) << "{\"execute\":\"qmp_capabilities\"}\n"
                             << "{\"execute\":\"query-status\"}\n";

  std::vector<double> t_start, t_raw, t_unplug, t_bare, t_mux, t_direct, t_direct_no_id, t_cli,
      t_socat;
  long rss_kib = 0, rss10_kib = 0;
  bool ok = true;
  for (int r = 0; r < runs && ok; ++r) {
    // Baseline: exec qemu, connect, capabilities reply.
    fs::remove(raw_dir / "qmp.sock");
    fs::remove(raw_dir / "qmp-cli.sock");
    auto t0 = clock_type::now();
    const pid_t qemu = spawn(qemu_argv);
    ok = wait_for_socket(raw_dir / "qmp.sock", std::chrono::seconds(30));
    for (int i = 0; ok && i < 1000; ++i) {  // the socket file appears before listen()
      BareClient c((raw_dir / "qmp.sock").string());
      if (c.ok()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    t_raw.push_back(ms_since(t0));
    ::kill(qemu, SIGKILL);
    ::waitpid(qemu, nullptr, 0);

    // mdevrun: start --detach returns once the supervisor's capabilities reply is in.
    t0 = clock_type::now();
    ok = ok && run({mdevrun, "start", "--detach", profile.string()}) == 0;
    t_start.push_back(ms_since(t0));
    if (!ok) break;
    const auto state = nlohmann::json::parse(std::ifstream(dir / "run/bench/state.json"));
    const int supervisor = state["supervisor_pid"].get<int>();
    rss_kib = std::max(rss_kib, peak_rss_kib(supervisor));
    const std::string monitor = (dir / "run/bench/monitor.sock").string();
    {  // Ten clients at once: one streams events (it never sends), nine make round trips.
      std::vector<std::unique_ptr<BareClient>> clients;
      for (int i = 0; i < 10; ++i) clients.push_back(std::make_unique<BareClient>(monitor));
      for (int i = 1; i < 10; ++i)
        for (int n = 0; n < 20; ++n) {
          clients[i]->send(R"({"execute":"query-status","id":1})");
          clients[i]->line();
        }
      for (const auto& c : clients) ok = ok && c->ok();
      rss10_kib = std::max(rss10_kib, peak_rss_kib(supervisor));
    }
    // Whole process, interleaved: `mdevrun qmp NAME` vs socat, both through the multiplexer.
    for (int i = 0; ok && i < 10; ++i) {
      t0 = clock_type::now();
      ok = run({mdevrun, "qmp", "bench", "query-status"}) == 0;
      t_cli.push_back(ms_since(t0));
      t0 = clock_type::now();
      ok = ok && run({"socat", "-", "UNIX-CONNECT:" + monitor}, socat_input.c_str()) == 0;
      t_socat.push_back(ms_since(t0));
    }

    // Round trips: the same bare client through the multiplexer and straight to qemu.
    const std::string sock = (dir / "run/bench/qmp-cli.sock").string();
    {
      BareClient via_mux((dir / "run/bench/monitor.sock").string());
      BareClient direct(sock);
      ok = via_mux.ok() && direct.ok();
      // The client's command carries an id (the mux keeps it for its reply); qemu answers one
      // with an id later (qmp/BENCHMARKS.md run D) and the mux forwards without, so the
      // multiplexer's own cost is measured against the straight path without id as well.
      const auto round_trips = [](BareClient& c, int n, bool with_id = true) {
        const auto t = clock_type::now();
        for (int i = 0; i < n; ++i) {
          c.send(with_id ? R"({"execute":"query-status","id":1})"
                         : R"({"execute":"query-status"})");
          c.line();
        }
        return ms_since(t) * 1000 / n;  // µs per round trip
      };
      round_trips(via_mux, 50);  // warm both paths
      round_trips(direct, 50);
      for (int block = 0; ok && block < 10; ++block) {
        t_mux.push_back(round_trips(via_mux, 100));
        t_direct.push_back(round_trips(direct, 100));
        t_direct_no_id.push_back(round_trips(direct, 100, false));
      }
    }

    // Unplug: the bare client vs the whole mdevrun process, on the same qemu.
    for (int i = 0; i < 3 && ok; ++i) {
      {
        t0 = clock_type::now();
        BareClient c(sock);
        c.send(R"({"execute":"device_del","arguments":{"id":"tablet0"}})");
        for (std::string l = c.line(); !l.empty(); l = c.line())
          if (l.find("DEVICE_DELETED") != std::string::npos &&
              l.find("\"tablet0\"") != std::string::npos)
            break;
        t_bare.push_back(ms_since(t0));
        c.send(
            R"({"execute":"device_add","arguments":{"driver":"usb-tablet","id":"tablet0","bus":"xhci.0"}})");
        c.line();
      }
      t0 = clock_type::now();
      ok = run({mdevrun, "unplug", "bench", "tablet0"}) == 0;
      t_unplug.push_back(ms_since(t0));
      BareClient c(sock);
      c.send(
          R"({"execute":"device_add","arguments":{"driver":"usb-tablet","id":"tablet0","bus":"xhci.0"}})");
      c.line();
    }
    run({mdevrun, "stop", "bench", "--force"});
  }
  fs::remove_all(dir);
  if (!ok) {
    std::printf("lifecycle_bench: a run failed\n");
    return 1;
  }
  const double start = median(t_start), raw = median(t_raw);
  // Each start is measured right after its raw baseline: the median of those pairs' ratios
  // cancels load that drifts over the run, which the ratio of the two medians does not.
  std::vector<double> pair_ratio;
  for (std::size_t i = 0; i < std::min(t_start.size(), t_raw.size()); ++i)
    pair_ratio.push_back(t_start[i] / t_raw[i]);
  const double paired = median(pair_ratio);
  const double unplug = median(t_unplug), bare = median(t_bare);
  std::printf(
      "start --detach to ready  %8.1f ms   raw qemu to capabilities %8.1f ms   ratio %.2f, "
      "paired %.2f (target <= 1.05)\n",
      start, raw, start / raw, paired);
  std::printf(
      "mdevrun unplug           %8.1f ms   bare device_del client    %8.1f ms   +%.1f ms "
      "(target <= +5 ms)\n",
      unplug, bare, unplug - bare);
  std::printf("supervisor peak RSS      %8ld KiB (target <= 8192 KiB)\n", rss_kib);
  const double mux = median(t_mux), direct = median(t_direct);
  const double direct_no_id = median(t_direct_no_id);
  std::printf(
      "query-status via mux     %8.1f us   straight to qemu          %8.1f us   +%.1f us "
      "(target <= +50 us)\n",
      mux, direct, mux - direct);
  std::printf(
      "  the mux's own cost: vs straight without id %6.1f us   +%.1f us (the client's id is "
      "not sent to qemu)\n",
      direct_no_id, mux - direct_no_id);
  std::printf("supervisor RSS, 10 clients %6ld KiB (target <= 8192 KiB)\n", rss10_kib);
  const double cli = median(t_cli), socat = median(t_socat);
  std::printf(
      "mdevrun qmp NAME query-status %5.1f ms   one-shot socat           %8.1f ms   ratio %.2f "
      "(target <= 0.5)\n",
      cli, socat, cli / socat);
  std::printf("(%d runs, medians)\n", runs);
  // CI fails only on a wide miss: these machines are noisy; the README reports the real figures.
  const bool wide_miss = paired > 1.5 || unplug - bare > 25 ||
                         std::max(rss_kib, rss10_kib) > 12 * 1024 || mux - direct_no_id > 250 ||
                         cli / socat > 1.0;
  return wide_miss ? 1 : 0;
}

// QMP client benchmarks against one real qemu (-accel tcg -S), each next to its baseline in the
// same run: the library's query-status round trip vs a minimal blocking POSIX client; pipelined
// throughput with N commands in flight (library vs POSIX); and a whole `mdevrun qmp --socket S
// query-status` process vs a one-shot socat doing greeting + capabilities + command.
// run-qmp-bench.sh runs this and computes the ratios.

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "qemu_instance.hpp"
#include "qmp/blocking_client.hpp"

extern char** environ;

namespace {

enum monitor : int { kLibrary = 0, kPosix = 1, kProcess = 2 };

qmp::test::qemu_instance& qemu() {
  static qmp::test::qemu_instance instance({}, 3);
  return instance;
}

/// The baseline: the least a blocking client must do. No JSON parsing, replies found by prefix.
class posix_client {
 public:
  explicit posix_client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    }
    read_line();  // greeting
    command("{\"execute\":\"qmp_capabilities\"}\n");
  }
  ~posix_client() { ::close(fd_); }

  /// Writes `lines` (one or more commands) and returns the last of `count` replies.
  std::string command(const std::string& lines, int count = 1) {
    write_all(lines);
    std::string line;
    for (int got = 0; got < count;) {
      line = read_line();
      if (line.rfind("{\"return\"", 0) == 0 || line.rfind("{\"error\"", 0) == 0) ++got;
    }
    return line;
  }

 private:
  void write_all(const std::string& s) {
    for (std::size_t off = 0; off < s.size();) {
      const ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) throw std::runtime_error("write failed");
      off += static_cast<std::size_t>(n);
    }
  }
  std::string read_line() {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("read failed");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  int fd_;
  std::string buffer_;
};

posix_client& posix() {
  static posix_client c(qemu().qmp_path(kPosix));
  return c;
}

qmp::blocking_client& library() {
  static auto c = [] {
    auto bc = std::make_unique<qmp::blocking_client>();
    bc->connect(qemu().qmp_path(kLibrary));
    return bc;
  }();
  return *c;
}

void BM_query_status_posix(benchmark::State& state) {
  auto& c = posix();
  for (auto _ : state) benchmark::DoNotOptimize(c.command("{\"execute\":\"query-status\"}\n"));
}
BENCHMARK(BM_query_status_posix)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same client and command with an "id": what qemu itself costs for one (the library sends
// none since it matches replies by order; qmp/BENCHMARKS.md, run D).
void BM_query_status_posix_with_id(benchmark::State& state) {
  auto& c = posix();
  for (auto _ : state)
    benchmark::DoNotOptimize(c.command("{\"execute\":\"query-status\",\"id\":1}\n"));
}
BENCHMARK(BM_query_status_posix_with_id)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_query_status_library(benchmark::State& state) {
  auto& c = library();
  for (auto _ : state) {
    qmp::reply r = c.execute("query-status");
    if (!r.ok()) state.SkipWithError("query-status failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_query_status_library)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_pipelined_posix(benchmark::State& state) {
  auto& c = posix();
  const int n = static_cast<int>(state.range(0));
  std::string batch;
  for (int i = 0; i < n; ++i) batch += "{\"execute\":\"query-status\"}\n";
  for (auto _ : state) benchmark::DoNotOptimize(c.command(batch, n));
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_pipelined_posix)
    ->Arg(1)
    ->Arg(8)
    ->Arg(32)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_pipelined_library(benchmark::State& state) {
  auto& bc = library();
  auto& c = bc.async_client();
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int done = 0;
    for (int i = 0; i < n; ++i) {
      c.async_execute("query-status", nullptr, [&](qmp::error_code ec, qmp::reply r) {
        if (ec || !r.ok()) throw std::runtime_error("query-status failed");
        ++done;
      });
    }
    bc.run_until([&] { return done == n; });
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_pipelined_library)
    ->Arg(1)
    ->Arg(8)
    ->Arg(32)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

/// Runs argv to completion with stdin from `input` (or /dev/null) and stdout/stderr to /dev/null.
int run_process(std::vector<std::string> args, const char* input) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, input ? input : "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BM_process_socat(benchmark::State& state) {
  static const std::string input = [] {
    std::string path = "/tmp/qmp-bench-socat-input";
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
    std::fputs("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\"}\n", f.get());
    return path;
  }();
  const std::string target = "UNIX-CONNECT:" + qemu().qmp_path(kProcess);
  for (auto _ : state) {
    if (run_process({"socat", "-", target}, input.c_str()) != 0)
      state.SkipWithError("socat failed");
  }
}
BENCHMARK(BM_process_socat)->Iterations(50)->UseRealTime()->Unit(benchmark::kMillisecond);

/// The floor of any whole-process measurement here: spawning and reaping /bin/true.
void BM_process_true(benchmark::State& state) {
  for (auto _ : state) {
    if (run_process({"/bin/true"}, nullptr) != 0) state.SkipWithError("/bin/true failed");
  }
}
BENCHMARK(BM_process_true)->Iterations(50)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_process_mdevrun(benchmark::State& state) {
  const std::string socket = qemu().qmp_path(kProcess);
  for (auto _ : state) {
    if (run_process({MDEVRUN_BINARY, "qmp", "--socket", socket, "query-status"}, nullptr) != 0) {
      state.SkipWithError("mdevrun qmp failed");
    }
  }
}
BENCHMARK(BM_process_mdevrun)->Iterations(50)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

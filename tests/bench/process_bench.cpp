// Times whole processes the way a user meets them: spawn, run, exit. Runs each command N times,
// interleaved with its baseline so machine noise hits both alike, and reports median wall time,
// peak RSS (from wait4) and the ratio to the baseline.
//
//   process_bench [--runs N] [--max-ratio R] [--max-rss-kib K] -- CMD... --baseline-- BASE...
//
// Exit status 1 when a given bound is missed, so CI notices a regression.

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Sample {
  double ms;
  long rss_kib;
};

Sample run_once(const std::vector<std::string>& cmd) {
  std::vector<char*> argv;
  for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "process_bench: cannot run %s\n", argv[0]);
    std::exit(2);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  const auto t1 = std::chrono::steady_clock::now();
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "process_bench: %s failed (status %d)\n", argv[0], status);
    std::exit(2);
  }
  return {std::chrono::duration<double, std::milli>(t1 - t0).count(), ru.ru_maxrss};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  double max_ratio = 0;
  long max_rss = 0;
  std::vector<std::string> cmd, base;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--max-ratio")) max_ratio = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--max-rss-kib")) max_rss = std::atol(argv[++i]);
  }
  bool in_base = false;
  for (++i; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--baseline--")) {
      in_base = true;
    } else {
      (in_base ? base : cmd).push_back(argv[i]);
    }
  }
  if (cmd.empty() || base.empty()) {
    std::fprintf(stderr,
                 "usage: process_bench [--runs N] [--max-ratio R] [--max-rss-kib K] -- "
                 "CMD... --baseline-- BASE...\n");
    return 2;
  }
  run_once(cmd);  // warm the page cache for both
  run_once(base);
  std::vector<double> t_cmd, t_base;
  long rss = 0;
  for (int r = 0; r < runs; ++r) {
    const Sample a = run_once(cmd);
    const Sample b = run_once(base);
    t_cmd.push_back(a.ms);
    t_base.push_back(b.ms);
    rss = std::max(rss, a.rss_kib);
  }
  const double m_cmd = median(t_cmd), m_base = median(t_base), ratio = m_cmd / m_base;
  std::printf("command   %-40s median %8.3f ms  peak RSS %ld KiB\n", cmd[0].c_str(), m_cmd, rss);
  std::printf("baseline  %-40s median %8.3f ms\n", base[0].c_str(), m_base);
  std::printf("ratio     %.3f (%d runs each, interleaved)\n", ratio, runs);
  bool ok = true;
  if (max_ratio > 0 && ratio > max_ratio) {
    std::printf("MISS ratio %.3f > target %.3f\n", ratio, max_ratio);
    ok = false;
  }
  if (max_rss > 0 && rss > max_rss) {
    std::printf("MISS peak RSS %ld KiB > target %ld KiB\n", rss, max_rss);
    ok = false;
  }
  return ok ? 0 : 1;
}

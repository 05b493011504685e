#!/usr/bin/env bash
# Produces the QMP benchmark figures (qmp/BENCHMARKS.md): builds qmp_bench and mdevrun in the
# release tree, runs every benchmark REPS times in random interleaved order (so load drifts hit
# each side alike) against one qemu, and prints a markdown table of medians and ratios to stdout.
# Usage: tests/bench/run-qmp-bench.sh [BUILD_DIR (build/release)] [REPS (5)]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
reps=${2:-5}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target qmp_bench mdevrun -j2 >/dev/null
json=$(mktemp)
trap 'rm -f "$json"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$build/tests/bench/qmp_bench" --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true --benchmark_min_time=0.5 \
  --benchmark_out="$json" --benchmark_out_format=json >/dev/null
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$json" "$reps" "$load_before" "$load_after" "$(qemu-system-x86_64 --version | head -1)" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
def t(name):  # median real time in ms
    b = med[name]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale
ctx = data["context"]
print(f"Run: {ctx['date']}, {ctx['num_cpus']} CPUs, {sys.argv[5]}, median of {sys.argv[2]} "
      f"interleaved repetitions; load average before/after: {sys.argv[3]} / {sys.argv[4]}.\n")
print("| benchmark | library | baseline | ratio | target |")
print("|---|---|---|---|---|")
lib, posix = t("BM_query_status_library/real_time"), t("BM_query_status_posix/real_time")
print(f"| query-status round trip | {lib*1000:.0f} µs | {posix*1000:.0f} µs (blocking POSIX client) | {lib/posix:.2f} | ≤ 1.05 |")
with_id = t("BM_query_status_posix_with_id/real_time")
print(f"| (qemu's cost of an id: the POSIX client sending `\"id\":1`) | | {with_id*1000:.0f} µs | {with_id/posix:.2f} | — |")
for n in (1, 8, 32):
    l, p = t(f"BM_pipelined_library/{n}/real_time"), t(f"BM_pipelined_posix/{n}/real_time")
    print(f"| pipelined, {n} in flight | {n/l*1000:.0f} cmd/s | {n/p*1000:.0f} cmd/s (POSIX, one write) | {l/p:.2f} (time) | ≤ 1.10 |")
m, s, f = t("BM_process_mdevrun/iterations:50/real_time"), t("BM_process_socat/iterations:50/real_time"), t("BM_process_true/iterations:50/real_time")
print(f"| whole process `mdevrun qmp --socket S query-status` | {m:.1f} ms | {s:.1f} ms (one-shot socat) | {m/s:.2f} | ≤ 0.5 |")
print(f"| (spawn floor: `/bin/true`) | {f:.1f} ms | | | |")
PY

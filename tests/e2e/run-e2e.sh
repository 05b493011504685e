#!/usr/bin/env bash
# The mdevrun end-to-end test, host side: build mdevrun (if needed) and the e2e image with it, boot
# the outer VM (a real Debian kernel with the kernel's sample mdev drivers) under qemu TCG, follow
# its serial console while tests/e2e/mdevrun-e2e.sh runs inside, and print every step's result,
# the phase timings and the closing line "N passed, M failed". Exits non-zero on any failure.
#
# Usage: tests/e2e/run-e2e.sh [--demo] [MDEVRUN_BINARY]
#   --demo           narrate: say what is being built, show each command run inside the VM and
#                    its output (scripts/demo); without it only the step results are printed
#   MDEVRUN_BINARY   use this mdevrun (ctest passes its build); default: build build/release
#   env E2E_TIMEOUT  seconds for the whole outer VM run (default 1700), MDEVRUN_CACHE: lib.sh
# Log (the whole serial console, each line with seconds since qemu started): $CACHE/e2e/e2e.log
# Needs root only to install missing Debian packages; no KVM (TCG), nothing left on the host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../guest/lib.sh"
LOG_TAG=e2e
cd "$MDEVRUN_ROOT"

demo=0 bin=
for a in "$@"; do
    case "$a" in
        --demo) demo=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $a (see --help)" ;;
        *) bin=$a ;;
    esac
done

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi
t_all=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { [ $demo = 0 ] || printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
phases=()   # "name|seconds|note" for the closing table

cache_lock e2e   # one e2e at a time per cache: the image, the stage dir and the logs are shared

# --- 1. mdevrun -------------------------------------------------------------------------------
t=$EPOCHREALTIME
if [ -z "$bin" ]; then
    say "Building mdevrun (build/release, a static binary that runs inside the test VM)"
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    if [ $demo = 1 ]; then cmake --build build/release --target mdevrun -j "$(nproc)"
    else cmake --build build/release --target mdevrun -j "$(nproc)" >/dev/null; fi
    bin=build/release/launcher/mdevrun
fi
[ -x "$bin" ] || die "no mdevrun binary at $bin"
phases+=("build mdevrun|$(since "$t")|build/release, incremental")

# --- 2. the image -----------------------------------------------------------------------------
# The test and its profiles go into the image as /mdevrun/ (the outer /init runs /mdevrun/test.sh).
say "Building the test VM image: Debian's kernel + vfio/mdev + the sample mdev drivers mtty, mdpy
   and mbochs (built from Debian's linux-source), qemu, a tiny busybox guest (its own small kernel,
   from the same source), mdevrun and the test (cached in $CACHE; the first build downloads ~200 MB
   of Debian packages and compiles the guest kernel, ~3 min on 2 cores)"
t=$EPOCHREALTIME
stage=$CACHE/e2e-extra
rm -rf "$stage"; mkdir -p "$stage"
install -m 755 "$here/mdevrun-e2e.sh" "$stage/test.sh"
cp -r "$here/profiles" "$stage/profiles"
if [ $demo = 1 ]; then
    img=$("$here/build-image.sh" "$bin" "$stage" | tail -n1)
else
    img=$("$here/build-image.sh" "$bin" "$stage" 2>"$CACHE/e2e-build.log" | tail -n1) ||
        { cat "$CACHE/e2e-build.log" >&2; die "image build failed"; }
fi
rm -rf "$stage"
phases+=("build image|$(since "$t")|cached in $CACHE/e2e when nothing changed")

# --- 3. boot it and follow the console --------------------------------------------------------
# -smp 2: multi-threaded TCG gives the inner qemu a vCPU thread of its own; -cpu max: every
# feature TCG emulates. The emulated Intel IOMMU (interrupt remapping needs the split irqchip)
# gives real IOMMU groups to the PCI slices (DESIGN.md §7), at fixed addresses that
# tests/e2e/mdevrun-e2e.sh names: 0000:00:04.0 an SR-IOV NVMe PF (2 VFs at 00:04.1/.2),
# 0000:00:05.0 an e1000e alone in its group, and behind the pci-bridge 0000:00:06.0 two e1000s
# (0000:01:01.0, 0000:01:02.0) that share one group with it: a group mdevrun must refuse.
# shpc=off: no SHPC hotplug controller on the bridge, which the kernel's shpchp would fail to
# register beside ACPI hotplug, noisily, on every boot.
cmd=(qemu-system-x86_64 -accel tcg -M q35,kernel-irqchip=split -cpu max -smp 2 -m 2048
     -nodefaults -display none -no-reboot -serial stdio
     -device intel-iommu,caching-mode=on,intremap=on
     -device nvme-subsys,id=subsys0
     -device nvme,serial=e2evf,subsys=subsys0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,bus=pcie.0,addr=0x4
     -netdev user,id=n0,restrict=on -device e1000e,netdev=n0,bus=pcie.0,addr=0x5
     -device pci-bridge,id=br1,chassis_nr=1,bus=pcie.0,addr=0x6,shpc=off
     -netdev user,id=n1,restrict=on -device e1000,netdev=n1,bus=br1,addr=0x1
     -netdev user,id=n2,restrict=on -device e1000,netdev=n2,bus=br1,addr=0x2
     -kernel "$img/vmlinux" -initrd "$img/initramfs.cpio" -append "$(cat "$img/cmdline")")
say "Booting the test VM (qemu TCG, no KVM needed); inside it mdevrun creates real mdevs, starts
   the tiny guest with one, hot-unplugs it and cleans up, then checks the failure cases"
[ $demo = 0 ] || printf '%s$ %s%s\n' "$D" "${cmd[*]}" "$N"

logf=$CACHE/e2e/e2e.log fifo=$CACHE/e2e/serial.fifo
rm -f "$fifo"; mkfifo "$fifo"
: >"$logf"
t_boot=$EPOCHREALTIME
timeout "${E2E_TIMEOUT:-1700}" "${cmd[@]}" </dev/null >"$fifo" 2>&1 &
qpid=$!
# timeout runs qemu in its own process group, out of reach of Ctrl-C: stop it on any exit.
trap 'kill "$qpid" 2>/dev/null || true; rm -f "$fifo"' EXIT
trap 'exit 130' INT TERM

# Each console line: to the log with seconds since boot; steps (and in demo mode the narration)
# to the terminal as they come.
declare -A result secs detail
plan=() t_ready= t_exit= rc_in= guest_boot=
t0=${EPOCHREALTIME/./}
while IFS= read -r line; do
    line=${line%$'\r'}
    us=$(( ${EPOCHREALTIME/./} - t0 ))
    ts=$(printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)))
    printf '%7s %s\n' "$ts" "$line" >>"$logf"
    case "$line" in
        MDEVRUN-E2E-READY*)
            t_ready=$ts
            [ $demo = 0 ] || printf '%s   test VM up after %s s: modules loaded%s\n' "$D" "$ts" "$N" ;;
        E2E-PLAN*) read -ra plan <<<"${line#E2E-PLAN }" ;;
        E2E-CMD*) [ $demo = 0 ] || printf '\n  %s$ %s%s\n' "$B" "${line#E2E-CMD }" "$N" ;;
        E2E-OUT*) [ $demo = 0 ] || printf '    %s\n' "${line#E2E-OUT }" ;;
        E2E-INFO*) printf '  %s%s%s\n' "$D" "${line#E2E-INFO }" "$N" ;;
        E2E-TIME\ guest-boot\ *) guest_boot=${line##* } ;;
        E2E-STEP\ *)
            read -r _ name res s rest <<<"$line"
            result[$name]=$res secs[$name]=$s detail[$name]=$rest
            c=$G; [ "$res" = PASS ] || c=$R
            printf '  %s%-4s%s %-19s %7s s  %s\n' "$c" "$res" "$N" "$name" "$s" "$rest" ;;
        MDEVRUN-E2E-EXIT*) t_exit=$ts rc_in=${line##*rc=} ;;
    esac
done <"$fifo"
set +e
wait "$qpid"; qrc=$?
set -e
trap - EXIT
rm -f "$fifo"

# --- 4. summary ---------------------------------------------------------------------------------
pass=0 fail=0
[ ${#plan[@]} -gt 0 ] || plan=(test-started)
for s in "${plan[@]}"; do
    if [ "${result[$s]:-}" = PASS ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        [ -n "${result[$s]:-}" ] || printf '  %sFAIL%s %-19s           no result (the VM stopped or timed out first)\n' "$R" "$N" "$s"
    fi
done
ok=1
if [ "$qrc" != 0 ]; then
    ok=0; log "outer qemu exited with status $qrc$([ "$qrc" != 124 ] || echo ": timed out after ${E2E_TIMEOUT:-1700} s")"
fi
if [ "${rc_in:-x}" != 0 ]; then ok=0; log "the in-VM test ended with rc=${rc_in:-none}"; fi
[ $fail = 0 ] || ok=0
if [ $ok = 0 ] && [ $demo = 0 ]; then
    echo "---- serial console ($logf) ----"
    cat "$logf"
    echo "----"
fi

t_vm=$(since "$t_boot")
phases+=("outer VM boot|${t_ready:-?}|qemu start to MDEVRUN-E2E-READY (kernel + modules)")
[ -z "$t_ready" ] || [ -z "$t_exit" ] ||
    phases+=("test inside the VM|$(awk -v a="$t_ready" -v b="$t_exit" 'BEGIN { printf "%.1f", b - a }')|every step above")
[ -z "$guest_boot" ] ||
    phases+=("  inner guest boot|$guest_boot|mdevrun start to MDEVRUN-GUEST-READY (nested TCG; failure cases ran meanwhile)")
[ -z "$t_exit" ] ||
    phases+=("outer VM power-off|$(awk -v a="$t_exit" -v b="$t_vm" 'BEGIN { printf "%.1f", b - a }')|")
phases+=("total|$(since "$t_all")|")
echo
echo "${B}Phases${N}"
for p in "${phases[@]}"; do
    IFS='|' read -r name s note <<<"$p"
    printf '  %-20s %7s s  %s\n' "$name" "$s" "$note"
done
echo "log: $logf"
echo "$pass passed, $fail failed"
[ $ok = 1 ]

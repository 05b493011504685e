#!/bin/bash
# End-to-end smoke test: build (or reuse) the e2e image, boot the outer VM under
# qemu TCG with the serial console captured to a log, and run a test script
# inside it - by default /e2e/vm-smoke.sh, which checks mtty/mdpy/mbochs and
# starts an inner qemu with an mtty mdev through vfio-pci.
#
# Usage: tests/e2e/smoke-test.sh [--inner-boot] [--test=PATH] [MDEVRUN_BINARY [EXTRA_DIR]]
#   --inner-boot    vm-smoke.sh also boots the inner guest with the mdev, checks it
#                   sees it, hot-unplugs it and powers it down (nested TCG: minutes)
#   --test=PATH     run PATH (inside the image) instead of /e2e/vm-smoke.sh,
#                   e.g. --test=/mdevrun/test.sh from EXTRA_DIR
#   MDEVRUN_BINARY, EXTRA_DIR: passed to build-image.sh (copied to /mdevrun/)
#   env E2E_TIMEOUT seconds for the whole outer VM run (default 600)
# Log: $CACHE/e2e/smoke.log. Passes when the test printed "MDEVRUN-E2E-EXIT rc=0"
# (vm-smoke.sh: after MDEVRUN-E2E-PASS) and qemu exited cleanly; exits 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../guest/lib.sh"
LOG_TAG=e2e-smoke
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

append= test=/e2e/vm-smoke.sh args=()
for a in "$@"; do
    case "$a" in
        --inner-boot) append=" mdevrun.inner=boot" ;;
        --test=*) test=${a#--test=} ;;
        *) args+=("$a") ;;
    esac
done

t=$(date +%s.%N)
img=$("$here/build-image.sh" "${args[@]}" | tail -n1)
log "build-image: $(elapsed "$t")s"

logf=$CACHE/e2e/smoke.log
# -smp 2: multi-threaded TCG gives the inner qemu a vCPU of its own.
# -cpu max: every feature TCG emulates (the default qemu64 model is minimal).
# No IOMMU (no intel-iommu device, no intel_iommu=on): mdev does not need one.
cmd=(qemu-system-x86_64 -accel tcg -M q35 -cpu max -smp 2 -m 2048
     -nodefaults -display none -no-reboot -serial stdio
     -kernel "$img/vmlinux" -initrd "$img/initramfs.cpio"
     -append "$(cat "$img/cmdline") mdevrun.test=$test$append")
log "${cmd[*]}"

# Prefix each serial line with seconds since qemu started (bash's
# EPOCHREALTIME: no process per line, no stdio buffering); keep a log.
stamp_lines() {
    local t0=${EPOCHREALTIME/./} line us
    while IFS= read -r line; do
        us=$(( ${EPOCHREALTIME/./} - t0 ))
        printf '%4d.%02d %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "${line%$'\r'}"
    done
}
t=$(date +%s.%N)
set +e
timeout "${E2E_TIMEOUT:-600}" "${cmd[@]}" </dev/null 2>&1 | stamp_lines | tee "$logf"
rc=${PIPESTATUS[0]}
set -e
log "outer VM ran $(elapsed "$t")s, qemu rc=$rc, log $logf"

ok=1
grep -q 'MDEVRUN-E2E-EXIT rc=0' "$logf" || ok=0
[ "$test" != /e2e/vm-smoke.sh ] || grep -q 'MDEVRUN-E2E-PASS' "$logf" || ok=0
[ "$rc" = 0 ] || ok=0      # 124: timeout
if [ $ok = 1 ]; then echo PASS; else echo FAIL; exit 1; fi

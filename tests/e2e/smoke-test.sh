#!/bin/bash
# End-to-end smoke test: build (or reuse) the e2e image, boot the outer VM under
# qemu TCG with the serial console captured to a log, and let
# /e2e/vm-smoke.sh inside check mtty/mdpy/mbochs + an inner qemu with the mtty mdev.
#
# Usage: tests/e2e/smoke-test.sh [--inner-boot] [MDEVRUN_BINARY [EXTRA_DIR]]
#   --inner-boot   also boot the inner guest with the mdev (nested TCG, slow)
#   env E2E_TIMEOUT  seconds for the whole outer VM run (default 600)
# Log: $CACHE/e2e/smoke.log. Exits non-zero on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../guest/lib.sh"
LOG_TAG=e2e-smoke
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

append=
args=()
for a in "$@"; do
    case "$a" in --inner-boot) append=" mdevrun.inner=boot" ;; *) args+=("$a") ;; esac
done

t=$(date +%s.%N)
img=$("$here/build-image.sh" "${args[@]}" | tail -n1)
log "build-image: $(elapsed "$t")s"

logf=$CACHE/e2e/smoke.log
# -smp 2: multi-threaded TCG gives the inner qemu a vCPU of its own.
# No IOMMU (no intel-iommu device, no intel_iommu=on): mdev does not need one.
cmd=(qemu-system-x86_64 -accel tcg -M q35 -cpu max -smp 2 -m 2048
     -nodefaults -display none -no-reboot -serial stdio
     -kernel "$img/vmlinux" -initrd "$img/initramfs.cpio"
     -append "$(cat "$img/cmdline") mdevrun.test=/e2e/vm-smoke.sh$append")
log "${cmd[*]}"
t=$(date +%s.%N)
set +e
# Prefix each serial line with seconds since qemu started (bash's
# EPOCHREALTIME: no process per line, no stdio buffering); keep a log.
stamp_lines() {
    local t0=${EPOCHREALTIME/./} line us
    while IFS= read -r line; do
        us=$(( ${EPOCHREALTIME/./} - t0 ))
        printf '%4d.%02d %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "${line%$'\r'}"
    done
}
timeout "${E2E_TIMEOUT:-600}" "${cmd[@]}" </dev/null 2>&1 | stamp_lines | tee "$logf"
rc=${PIPESTATUS[0]}
set -e
log "outer VM ran $(elapsed "$t")s, qemu rc=$rc, log $logf"
if grep -q 'MDEVRUN-E2E-PASS' "$logf" && grep -q 'MDEVRUN-E2E-EXIT rc=0' "$logf" && [ "$rc" = 0 ]; then
    echo PASS
else
    echo FAIL
    exit 1
fi

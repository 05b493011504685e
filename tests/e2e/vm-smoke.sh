#!/bin/sh
# Runs INSIDE the e2e outer VM (busybox sh; copied to /e2e/vm-smoke.sh by
# tests/e2e/build-image.sh, started by /init via mdevrun.test=/e2e/vm-smoke.sh).
# Checks the mdev stack and that qemu can use an mdev through vfio-pci.
# Prints MDEVRUN-E2E-STEP/-TIME lines, then MDEVRUN-E2E-PASS or
# MDEVRUN-E2E-FAIL <why>; exits non-zero on failure.
#
# Kernel command line knobs (outer VM):
#   mdevrun.inner=boot   also boot the inner guest with the mdev (nested TCG:
#                        slow), check it sees the device, hot-unplug it, power down.

set -u
QEMU=qemu-system-x86_64
UUID=$(cat /proc/sys/kernel/random/uuid)

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" '{printf "%.2f", $1 - a}' /proc/uptime; }
step() { echo "MDEVRUN-E2E-STEP $*"; }
fail() {
    echo "MDEVRUN-E2E-FAIL $*"
    for f in /tmp/qmp.out /tmp/qemu.err /tmp/inner.log; do
        [ -s "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
    done
    [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null && wait "$QPID"
    [ -e "/sys/bus/mdev/devices/$UUID" ] && echo 1 >"/sys/bus/mdev/devices/$UUID/remove"
    exit 1
}
# wait_grep PATTERN FILE TIMEOUT_S: wait until FILE contains PATTERN (fixed string).
wait_grep() {
    n=0
    while ! grep -qF -- "$1" "$2" 2>/dev/null; do
        n=$((n + 1)); [ $n -gt $(($3 * 10)) ] && return 1
        sleep 0.1
    done
}

# --- 1. modules ----------------------------------------------------------------
step modules
for m in vfio vfio_iommu_type1 mdev mtty mdpy mbochs; do
    [ -d "/sys/module/$m" ] || fail "module $m not loaded"
done
[ -c /dev/vfio/vfio ] || fail "/dev/vfio/vfio missing"

# mdevrun binary, if build-image.sh was given one: its libraries must resolve.
if [ -e /mdevrun/mdevrun ]; then
    step mdevrun-binary
    v=$(/mdevrun/mdevrun --version 2>&1) || fail "/mdevrun/mdevrun --version: $v"
    echo "MDEVRUN-E2E-MDEVRUN-VERSION $v"
fi

# --- 2. mdev types -------------------------------------------------------------
step types
for t in /sys/class/mdev_bus/*/mdev_supported_types/*; do
    [ -d "$t" ] || fail "no mdev_supported_types"
    echo "MDEVRUN-E2E-TYPE ${t#/sys/class/mdev_bus/} name=\"$(cat "$t/name" 2>/dev/null)\" api=$(cat "$t/device_api") available=$(cat "$t/available_instances")"
done

# --- 3. create/remove one mdev of each sample driver ---------------------------
step create-remove-all
for t in mtty/mdev_supported_types/mtty-1 mdpy/mdev_supported_types/mdpy-vga mbochs/mdev_supported_types/mbochs-small; do
    u=$(cat /proc/sys/kernel/random/uuid)
    echo "$u" >"/sys/class/mdev_bus/$t/create" || fail "create $t"
    [ -e "/sys/bus/mdev/devices/$u" ] || fail "$u not in /sys/bus/mdev/devices"
    echo 1 >"/sys/bus/mdev/devices/$u/remove" || fail "remove $u"
    [ -e "/sys/bus/mdev/devices/$u" ] && fail "$u still present after remove"
done

# --- 4. the mtty mdev used with qemu -------------------------------------------
step create-mtty
echo "$UUID" >/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create || fail "create mtty-2"
DEV=/sys/bus/mdev/devices/$UUID
GROUP=$(basename "$(readlink "$DEV/iommu_group")")
[ -c "/dev/vfio/$GROUP" ] || fail "/dev/vfio/$GROUP missing"
echo "MDEVRUN-E2E-MDEV $UUID group=$GROUP driver=$(basename "$(readlink "$DEV/driver")")"

# qemu_start ARGS...: start qemu with QMP on stdin/stdout through a fifo
# (no socat/python in the image); qmp CMD writes a command on fd 3.
qemu_start() {
    rm -f /tmp/qmp.in /tmp/qmp.out /tmp/qemu.err /tmp/inner.log
    mkfifo /tmp/qmp.in
    $QEMU -accel tcg -M q35 -m 256 -nodefaults -display none -no-reboot \
        -qmp stdio "$@" </tmp/qmp.in >/tmp/qmp.out 2>/tmp/qemu.err &
    QPID=$!
    exec 3>/tmp/qmp.in
    qmp '{"execute":"qmp_capabilities"}'
}
qmp() { echo "$1" >&3; }
# qmp_wait PATTERN TIMEOUT_S: wait for PATTERN in QMP output written after the
# last qmp_mark; fail at once on a QMP error reply.
qmp_mark() { QMARK=$(wc -l </tmp/qmp.out); }
qmp_wait() {
    n=0
    while :; do
        new=$(tail -n +$((QMARK + 1)) /tmp/qmp.out)
        case "$new" in *"$1"*) return 0 ;; *'"error"'*) fail "QMP error: $new" ;; esac
        n=$((n + 1)); [ $n -gt $(($2 * 10)) ] && return 1
        sleep 0.1
    done
}
qemu_stop() {
    qmp '{"execute":"quit"}'
    exec 3>&-
    wait "$QPID"
}

step inner-qemu-S
t=$(now)
qemu_start -S -device "vfio-pci,id=mdev0,sysfsdev=$DEV"
qmp_mark
qmp '{"execute":"query-pci"}'
qmp_wait '"qdev_id": "mdev0"' 60 || fail "vfio-pci mdev0 not in query-pci"
# mtty's config space: vendor 0x4348 (17224), device 0x3253 (12883)
ids=$(grep -o '"qdev_id": "mdev0"[^]]*' /tmp/qmp.out)
case "$ids" in *'"device": 12883,'*'"vendor": 17224'*) ;; *) fail "mdev0 is not the mtty device: $ids" ;; esac
qemu_stop
echo "MDEVRUN-E2E-TIME inner_qemu_S_query_pci=$(since "$t")s"

if grep -qw 'mdevrun.inner=boot' /proc/cmdline; then
    step inner-boot
    t=$(now)
    # mdev0 behind a root port: q35's pcie.0 does not support hot-unplug.
    qemu_start -device pcie-root-port,id=rp0,chassis=1,slot=1 \
        -device "vfio-pci,id=mdev0,bus=rp0,sysfsdev=$DEV" \
        -serial file:/tmp/inner.log \
        -kernel /guest/vmlinux -initrd /guest/initramfs.cpio.gz -append "$(cat /guest/cmdline)"
    wait_grep MDEVRUN-GUEST-READY /tmp/inner.log 900 || fail "inner guest not ready"
    echo "MDEVRUN-E2E-TIME inner_boot_to_ready=$(since "$t")s"
    # 4348:3253 = mtty's vendor:device
    grep MDEVRUN-GUEST-PCI-LIST /tmp/inner.log | grep -q '=4348:3253' || fail "inner guest does not see mtty"
    t=$(now)
    qmp_mark
    qmp '{"execute":"device_del","arguments":{"id":"mdev0"}}'
    qmp_wait '"device": "mdev0"' 300 || fail "no DEVICE_DELETED for mdev0"
    echo "MDEVRUN-E2E-TIME inner_unplug=$(since "$t")s"
    wait_grep 'MDEVRUN-GUEST-PCI remove' /tmp/inner.log 60 || fail "inner guest did not report the removal"
    t=$(now)
    qmp '{"execute":"system_powerdown"}'
    n=0
    while kill -0 "$QPID" 2>/dev/null; do
        n=$((n + 1)); [ $n -gt 1200 ] && fail "inner qemu did not exit after system_powerdown"
        sleep 0.1
    done
    exec 3>&-
    wait "$QPID"
    echo "MDEVRUN-E2E-TIME inner_powerdown=$(since "$t")s"
fi

# --- 5. remove -----------------------------------------------------------------
step remove-mtty
echo 1 >"$DEV/remove" || fail "remove $UUID"
[ -e "$DEV" ] && fail "$UUID still present"

echo "MDEVRUN-E2E-PASS"

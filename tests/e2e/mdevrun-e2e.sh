#!/bin/sh
# The mdevrun end-to-end test. Runs INSIDE the e2e outer VM (busybox sh, as PID 1's child): a real
# Debian kernel with vfio, mdev and the kernel's sample mdev drivers (mtty, mdpy, mbochs), the
# host's qemu, the tiny guest at /guest/ and mdevrun at /usr/bin/mdevrun. tests/e2e/run-e2e.sh
# copies this file to /mdevrun/test.sh and the profiles to /mdevrun/profiles/, boots the VM and
# reads the serial console. Protocol (one line each, on stdout = the serial console):
#   E2E-PLAN <step>...                        the steps this run will report, in order
#   E2E-CMD <command line>                    a command about to run (narration for scripts/demo)
#   E2E-OUT <line>                            its output
#   E2E-STEP <step> PASS|FAIL <seconds> <detail>
#   E2E-DONE passed=N failed=M
# Exit status: 0 when every step passed.
#
# One inner guest boot per run (~20 s under nested TCG with the guest's own kernel, on a quiet
# machine; Debian's kernel took 60-150 s): the main VM is started first,
# the failure cases (which need no booted guest) run while it boots, then unplug / plug /
# unplug --remove-mdev / stop use the booted guest.
set -eu
export PATH=/usr/bin:/usr/sbin:/bin:/sbin

P=/mdevrun/profiles
NAME=e2e-mtty                       # the main VM (profiles/e2e-mtty.json)
SERIAL=/tmp/inner-serial.log        # its serial console (set in the profile)
MDEVS=/sys/bus/mdev/devices
TYPES=/sys/class/mdev_bus
MTTY_ID=4348:3253                   # mtty's PCI vendor:device, as the guest reports it
# Start timeouts are generous: the outer VM is itself emulated (TCG), on a shared CI machine.
START="mdevrun start --start-timeout 120"

STEPS="modules types start status second-launcher uuid-taken exhaust-mdpy exhaust-mbochs
busy-vfio no-gl qemu-killed nonviable-group guest-boot unplug plug unplug-remove-mdev vf-unplug-plug
stop slices-restored vf-crash-recovery vf-someone-elses leftovers"

# The outer VM's PCI hardware (tests/e2e/run-e2e.sh): an SR-IOV NVMe PF with 2 VFs, an e1000e
# alone in its IOMMU group, and two e1000s behind a bridge sharing one group.
PF=0000:00:04.0 VF0=0000:00:04.1 VF1=0000:00:04.2 NIC=0000:00:05.0
BR_NIC=0000:01:01.0 BR_NIC2=0000:01:02.0
NVME_ID=1b36:0010 NIC_ID=8086:10d3
PCI=/sys/bus/pci/devices
drv() { l=$(readlink "$PCI/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo none; }
pf_attr() { cat "$PCI/$PF/$1" 2>/dev/null || echo missing; }
override() { cat "$PCI/$1/driver_override" 2>/dev/null || echo missing; }
# The PCI state before mdevrun touched anything: what every exit path must give back.
pci_pristine() {
    [ "$(pf_attr sriov_numvfs)" = 0 ] || { DETAIL="sriov_numvfs is $(pf_attr sriov_numvfs), not 0"; return 1; }
    [ "$(pf_attr sriov_drivers_autoprobe)" = 1 ] || { DETAIL="sriov_drivers_autoprobe is $(pf_attr sriov_drivers_autoprobe), not 1"; return 1; }
    [ "$(drv $NIC)" = e1000e ] || { DETAIL="$NIC is on $(drv $NIC), not e1000e"; return 1; }
    [ "$(override $NIC)" = "(null)" ] || { DETAIL="$NIC driver_override is $(override $NIC)"; return 1; }
    [ "$(drv $BR_NIC)" = e1000 ] || { DETAIL="$BR_NIC is on $(drv $BR_NIC), not e1000"; return 1; }
    [ "$(override $BR_NIC)" = "(null)" ] || { DETAIL="$BR_NIC driver_override is $(override $BR_NIC)"; return 1; }
}
echo "E2E-PLAN" $STEPS

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" '{printf "%.2f", $1 - a}' /proc/uptime; }
PASSED=0 FAILED=0 MAIN_OK=1

# step NAME FUNCTION: run FUNCTION (which sets DETAIL and returns non-zero on failure), report it
# and set RESULT. FUNCTION runs in an `if`, so `set -e` does not apply inside: every check in it
# says `|| return 1`.
RESULT=
step() {
    DETAIL= T0=$(now)
    if "$2"; then RESULT=PASS PASSED=$((PASSED + 1)); else RESULT=FAIL FAILED=$((FAILED + 1)); fi
    echo "E2E-STEP $1 $RESULT $(since "$T0") ${DETAIL:-failed}"
}
# A main-flow step needs the VM the earlier ones set up: once one failed, report the rest as
# failed without running them (their checks would only repeat the first failure).
main_step() {
    if [ $MAIN_OK = 1 ]; then
        step "$1" "$2"
        [ "$RESULT" = PASS ] || MAIN_OK=0
    else
        echo "E2E-STEP $1 FAIL 0.00 not run: an earlier main-flow step failed"
        FAILED=$((FAILED + 1))
    fi
}

# run CMD...: run a command, narrate it, keep its combined output in OUT and exit status in RC.
run() {
    echo "E2E-CMD $*"
    set +e
    OUT=$("$@" 2>&1)
    RC=$?
    set -e
    # JSON is for the checks; the narration shows its size only (the human forms say the same).
    case "$OUT" in
        '') ;;
        [[{]*) echo "E2E-OUT ($(printf '%s\n' "$OUT" | wc -l) lines of JSON, checked by the test)" ;;
        *) printf '%s\n' "$OUT" | sed 's/^/E2E-OUT /' ;;
    esac
    [ $RC = 0 ] || echo "E2E-OUT (exit status $RC)"
}
# expect_rc N CMD...: run CMD, fail (with DETAIL) unless it exits with N.
expect_rc() {
    want=$1; shift
    run "$@"
    [ "$RC" = "$want" ] && return 0
    DETAIL="'$*' exited $RC, expected $want: $(printf '%s' "$OUT" | tail -n 2 | tr '\n' ' ')"
    return 1
}
# has TEXT: OUT contains TEXT (fixed string), else fail with DETAIL.
has() {
    case "$OUT" in *"$1"*) return 0 ;; esac
    DETAIL="output lacks \"$1\""
    return 1
}
# mdev_line: the line of `mdevrun status` (human form, in OUT) about the mdev tty0; the slice and
# device lines have an "attached:" of their own, so a check on the whole output proves nothing.
mdev_line() { printf '%s\n' "$OUT" | grep "^ *mdev tty0 " | head -n 1; }
# line_has LINE TEXT...: LINE contains every TEXT, else fail with DETAIL.
line_has() {
    l=$1; shift
    for t in "$@"; do
        case "$l" in *"$t"*) ;; *) DETAIL="status line \"$l\" lacks \"$t\""; return 1 ;; esac
    done
}
# wait_for SECONDS CONDITION...: poll CONDITION every 0.1 s until it holds; fail after SECONDS.
wait_for() {
    limit=$(($1 * 10)); shift
    n=0
    until "$@"; do
        n=$((n + 1)); [ $n -lt $limit ] || return 1
        sleep 0.1
    done
}
gone() { [ ! -e "$1" ]; }
dead() { ! kill -0 "$1" 2>/dev/null; }
in_serial() { grep -q "$1" "$SERIAL" 2>/dev/null; }
in_serial_i() { grep -qi "$1" "$SERIAL" 2>/dev/null; }
# json_field NAME: the first "NAME": value in OUT (mdevrun's --json output puts one key per line).
json_field() { printf '%s\n' "$OUT" | sed -n "s/^ *\"$1\": \"*\([^\",]*\)\"*,*$/\1/p" | head -n 1; }

# mdevs created by hand here, as "someone else" would; removed on exit whatever happened.
HAND=
new_uuid() { cat /proc/sys/kernel/random/uuid; }
# hand_create PARENT TYPE [UUID]: create an mdev outside mdevrun (its UUID in U), as a plain
# `echo UUID > create` does: a refusal shows the kernel's errno text on stderr.
hand_create() {
    U=${3:-$(new_uuid)}
    echo "$U" >"$TYPES/$1/mdev_supported_types/$2/create" || return 1
    HAND="$HAND $U"
}
hand_remove_all() {
    for u in $HAND; do [ ! -e "$MDEVS/$u" ] || echo 1 >"$MDEVS/$u/remove"; done
    HAND=
}
# A qemu started by hand (busy-vfio); killed before its mdev is removed, as remove blocks while a
# process holds the device.
RAW_QEMU=
kill_raw() {
    [ -z "$RAW_QEMU" ] || { kill -9 "$RAW_QEMU" 2>/dev/null; wait "$RAW_QEMU" 2>/dev/null; } || true
    RAW_QEMU=
}
cleanup() {
    kill_raw
    mdevrun stop --force "$NAME" >/dev/null 2>&1 || true
    hand_remove_all || true
}
trap cleanup EXIT

# --- the main flow, part 1 --------------------------------------------------------------------

t_modules() {
    for m in vfio vfio_iommu_type1 mdev mtty mdpy mbochs vfio_pci nvme e1000e e1000; do
        [ -d "/sys/module/$m" ] || { DETAIL="module $m is not loaded"; return 1; }
    done
    [ -c /dev/vfio/vfio ] || { DETAIL="/dev/vfio/vfio missing"; return 1; }
    [ "$(pf_attr sriov_totalvfs)" = 2 ] || { DETAIL="$PF sriov_totalvfs is $(pf_attr sriov_totalvfs)"; return 1; }
    [ -e "$PCI/$NIC/iommu_group" ] || { DETAIL="$NIC has no IOMMU group (intel_iommu=on?)"; return 1; }
    pci_pristine || return 1
    DETAIL="vfio, mdev, the samples, vfio-pci, nvme (PF $PF, 2 VFs possible), e1000e, e1000 on $(uname -r); IOMMU on"
}

t_types() {
    expect_rc 0 mdevrun types || return 1
    for t in mtty-1 mtty-2 mdpy-vga mdpy-xga mdpy-hd mbochs-small mbochs-medium mbochs-large; do
        has "$t" || return 1
    done
    has "PF $PF  $NVME_ID  driver nvme  VFs 0 of 2" || return 1
    expect_rc 0 mdevrun types --json || return 1
    has '"mbochs-large"' && has '"kind": "sriov-pf"' || return 1
    DETAIL="mtty-1/2, mdpy-vga/xga/hd, mbochs-small/medium/large listed; SR-IOV PF $PF (0 of 2 VFs)"
}

t_check_slices() {
    # check judges the slices by start's own rules, on a real IOMMU with interrupt remapping.
    run mdevrun check "$P/$NAME.json"
    for l in "PASS  interrupt remapping: enabled" "PASS  vfio-pci driver" "PASS  slice vf0 PF" \
             "PASS  slice vf0 IOMMU group" "PASS  slice nic IOMMU group: $NIC is alone"; do
        has "$l" || return 1
    done
    run mdevrun check "$P/e2e-nonviable.json"
    [ "$RC" != 0 ] || { DETAIL="check of e2e-nonviable exited 0"; return 1; }
    has "FAIL  slice nic IOMMU group: $BR_NIC shares IOMMU group" && has "$BR_NIC2" || return 1
    pci_pristine || return 1
    DETAIL="PF, vfio-pci, interrupt remapping and both groups PASS; the bridge's group FAIL naming $BR_NIC2; nothing changed"
}

UUID= QEMU_PID= START_T=
t_start() {
    # The profile's kernel command line must be the one the guest was built with.
    grep -qF "\"append\": \"$(cat /guest/cmdline)\"" "$P/$NAME.json" ||
        { DETAIL="$P/$NAME.json: append differs from /guest/cmdline"; return 1; }
    START_T=$(now)
    expect_rc 0 $START --detach "$P/$NAME.json" || return 1
    expect_rc 0 mdevrun status "$NAME" --json || return 1
    UUID=$(json_field uuid) QEMU_PID=$(json_field qemu_pid)
    [ -e "$MDEVS/$UUID" ] || { DETAIL="mdev $UUID not in $MDEVS"; return 1; }
    grep -q "sysfsdev=$MDEVS/$UUID" "/proc/$QEMU_PID/cmdline" ||
        { DETAIL="qemu $QEMU_PID does not use $UUID"; return 1; }
    [ "$(pf_attr sriov_numvfs)" = 2 ] || { DETAIL="sriov_numvfs is $(pf_attr sriov_numvfs), not 2"; return 1; }
    [ "$(pf_attr sriov_drivers_autoprobe)" = 0 ] || { DETAIL="autoprobe was not turned off"; return 1; }
    [ "$(drv $VF0)" = vfio-pci ] || { DETAIL="VF $VF0 is on $(drv $VF0)"; return 1; }
    [ "$(drv $NIC)" = vfio-pci ] || { DETAIL="$NIC is on $(drv $NIC)"; return 1; }
    for a in $VF0 $NIC; do
        tr '\0' ' ' <"/proc/$QEMU_PID/cmdline" | grep -q "host=$a" ||
            { DETAIL="qemu does not get host=$a"; return 1; }
    done
    DETAIL="mdev $UUID (mtty-2) created; VFs enabled, $VF0 and $NIC on vfio-pci; qemu pid $QEMU_PID"
}

t_status() {
    expect_rc 0 mdevrun status "$NAME" --json || return 1
    has '"status": "running"' && has '"attached": true' && has '"present": true' &&
        has '"created_by_mdevrun": true' || return 1
    expect_rc 0 mdevrun status "$NAME" || return 1
    has "vf0: vf $VF0 (VF 0 of $PF)" && has "nic: pci $NIC" || return 1
    expect_rc 0 mdevrun list || return 1
    has "$NAME" || return 1
    DETAIL="running, tty0 attached, mdev present and owned, slices vf0 and nic shown"
}

# --- failure cases (no booted guest needed; they run while the main guest boots) ---------------

t_second_launcher() {
    # Same mdev (uuid), another instance name: mdevrun's own UUID lock refuses before qemu runs.
    printf '{"name": "e2e-twin", "machine": {"type": "q35", "accel": "tcg", "memory": "64M"},
 "display": {"backend": "none"},
 "mdevs": [{"id": "tty0", "parent": "mtty", "type": "mtty-2", "uuid": "%s"}]}\n' "$UUID" >/tmp/e2e-twin.json
    expect_rc 11 $START /tmp/e2e-twin.json || return 1
    has "in use by another mdevrun" || return 1
    [ -e "$MDEVS/$UUID" ] || { DETAIL="the main VM's mdev vanished"; return 1; }
    DETAIL="exit 11: $(printf '%s' "$OUT" | head -n 1 | cut -c1-90)..."
}

t_uuid_taken() {
    hand_create mdpy mdpy-vga e2e00000-0000-4000-8000-000000000001 || return 1
    u=$U
    expect_rc 3 $START "$P/e2e-uuid-taken.json" || return 1
    has "already exists as type" || return 1
    [ -e "$MDEVS/$u" ] || { DETAIL="mdevrun removed someone else's mdev $u"; return 1; }
    hand_remove_all
    DETAIL="exit 3, someone else's mdev left in place"
}

t_exhaust_mdpy() {
    # mdpy: max_instances 4 for the whole parent (all types); the 5th create gets EUSERS.
    avail=$(cat "$TYPES/mdpy/mdev_supported_types/mdpy-vga/available_instances")
    [ "$avail" -ge 2 ] || { DETAIL="mdpy-vga available_instances $avail at start"; return 1; }
    i=1; while [ $i -lt "$avail" ]; do hand_create mdpy mdpy-hd || return 1; i=$((i + 1)); done
    before=$(ls "$MDEVS" | wc -l)
    expect_rc 3 $START "$P/e2e-mdpy-exhaust.json" || return 1
    has "no free instance" || return 1
    [ "$(ls "$MDEVS" | wc -l)" = "$before" ] || { DETAIL="fb0 was not rolled back"; return 1; }
    # The kernel's own answer when full (what mdevrun maps to exit 3 in a race): take the last
    # instance, then ask for one more.
    hand_create mdpy mdpy-hd || return 1
    hand_create mdpy mdpy-hd >/tmp/e2e-err 2>&1 && { DETAIL="a 5th mdpy was created"; return 1; }
    grep -q "Too many users" /tmp/e2e-err || { DETAIL="5th mdpy: $(cat /tmp/e2e-err) (want EUSERS)"; return 1; }
    hand_remove_all
    DETAIL="exit 3 with $((avail - 1)) of $avail taken by hand, the first device rolled back; kernel: EUSERS"
}

t_exhaust_mbochs() {
    # mbochs: one pool (256 MB) for small 4 / medium 16 / large 64 MB; a full pool gets ENOSPC.
    d=$TYPES/mbochs/mdev_supported_types
    # Leave exactly 64 MB: one large, or 16 small.
    while [ "$(cat "$d/mbochs-large/available_instances")" -gt 1 ]; do
        hand_create mbochs mbochs-large || return 1
    done
    [ "$(cat "$d/mbochs-small/available_instances")" = 16 ] ||
        { DETAIL="mbochs-small available_instances $(cat "$d/mbochs-small/available_instances"), want 16"; return 1; }
    before=$(ls "$MDEVS" | wc -l)
    expect_rc 3 $START "$P/e2e-mbochs-pool.json" || return 1
    has "no free instance" && has "mbochs-small" || return 1
    [ "$(ls "$MDEVS" | wc -l)" = "$before" ] || { DETAIL="gpu0 was not rolled back"; return 1; }
    # Fill the last 64 MB by hand; then even the smallest type gets the kernel's ENOSPC.
    hand_create mbochs mbochs-large || return 1
    hand_create mbochs mbochs-small >/tmp/e2e-err 2>&1 && { DETAIL="pool did not run out"; return 1; }
    grep -q "No space left on device" /tmp/e2e-err || { DETAIL="full pool: $(cat /tmp/e2e-err) (want ENOSPC)"; return 1; }
    hand_remove_all
    DETAIL="exit 3 (large took the pool's last 64 MB, small found none), rollback; kernel: ENOSPC"
}

t_busy_vfio() {
    hand_create mdpy mdpy-vga e2e00000-0000-4000-8000-000000000002 || return 1
    u=$U
    group=$(basename "$(readlink "$MDEVS/$u/iommu_group")")
    # Another VM holds the mdev: a plain qemu, paused (-S) so it costs no CPU.
    echo "E2E-CMD qemu-system-x86_64 -S ... -device vfio-pci,sysfsdev=$MDEVS/$u &"
    qemu-system-x86_64 -accel tcg -M q35 -m 64 -nodefaults -display none -S \
        -device "vfio-pci,sysfsdev=$MDEVS/$u" </dev/null >/tmp/e2e-raw.log 2>&1 &
    RAW_QEMU=$!
    holds() { ls -l "/proc/$RAW_QEMU/fd" 2>/dev/null | grep -q "/dev/vfio/$group\$"; }
    wait_for 60 holds || { DETAIL="plain qemu did not open /dev/vfio/$group: $(cat /tmp/e2e-raw.log)"; return 1; }
    expect_rc 4 $START "$P/e2e-busy.json" || return 1
    has "failed to open /dev/vfio/$group: Device or resource busy" && has "hint:" &&
        has "pid $RAW_QEMU" || return 1
    [ -e "$MDEVS/$u" ] || { DETAIL="mdevrun removed the mdev it did not create"; return 1; }
    kill_raw
    hand_remove_all
    DETAIL="exit 4, hint names the holder (pid, qemu-system-x86), mdev left in place"
}

t_no_gl() {
    before=$(ls "$MDEVS" | wc -l)
    expect_rc 4 $START "$P/e2e-mbochs-gl.json" || return 1
    has "vfio-display-dmabuf: opengl not available" && has "hint:" && has "OpenGL" || return 1
    [ "$(ls "$MDEVS" | wc -l)" = "$before" ] || { DETAIL="mbochs mdev was not removed"; return 1; }
    DETAIL="exit 4 with the GL hint, mdev removed"
}

t_qemu_killed() {
    expect_rc 0 $START --detach "$P/e2e-killed.json" || return 1
    expect_rc 0 mdevrun status e2e-killed --json || return 1
    u=$(json_field uuid) pid=$(json_field qemu_pid) sup=$(json_field supervisor_pid)
    [ -e "$MDEVS/$u" ] || { DETAIL="mdev $u not created"; return 1; }
    echo "E2E-CMD kill -9 $pid   # qemu of e2e-killed"
    tk=$(now)
    kill -9 "$pid"
    wait_for 60 gone "$MDEVS/$u" || { DETAIL="mdev $u still there 60 s after kill -9 of qemu"; return 1; }
    wait_for 30 gone /run/mdevrun/e2e-killed || { DETAIL="runtime dir left behind"; return 1; }
    wait_for 30 dead "$sup" || { DETAIL="supervisor $sup still running"; return 1; }
    DETAIL="mdpy display=on ran without GL; after kill -9 of qemu the mdev was removed in $(since "$tk") s"
}

# --- the main flow, part 2: the booted guest ---------------------------------------------------

t_guest_boot() {
    # Nested TCG is slow: ~20 s on a quiet machine with the guest's own kernel (Debian's: 60-150 s,
    # 4-13 minutes while the 2-core host was busy with compilers); the limit is for a hang. Say
    # every 30 s that it is still booting, with the guest's last console line.
    # (`read` from /proc/uptime: no process per poll, which costs under TCG.)
    read -r up _ </proc/uptime; t_start=${START_T%.*} t_say=$((${up%.*} + 30))
    until in_serial MDEVRUN-GUEST-READY; do
        read -r up _ </proc/uptime; up=${up%.*}
        [ $up -lt $((t_start + 1200)) ] || { DETAIL="no MDEVRUN-GUEST-READY within 1200 s: $(tail -n 3 "$SERIAL" | tr '\n' ' ')"; return 1; }
        if [ $up -ge $t_say ]; then
            last=$(tail -n 1 "$SERIAL" 2>/dev/null | cut -c1-100)   # the guest boots "quiet"
            echo "E2E-INFO guest still booting, $((up - t_start)) s since start${last:+; its console: $last}"
            t_say=$((up + 30))
        fi
        sleep 0.1
    done
    GUEST_BOOT=$(since "$START_T")
    echo "E2E-TIME guest-boot $GUEST_BOOT"
    list=$(grep MDEVRUN-GUEST-PCI-LIST "$SERIAL")
    echo "E2E-OUT $list"
    # The guest's own uptime at READY: its kernel and /init; the rest is qemu and the firmware.
    up=$(sed -n 's/^MDEVRUN-GUEST-UPTIME \([0-9.]*\).*/\1/p' "$SERIAL" | head -n 1)
    echo "E2E-INFO guest kernel + /init: ${up:-?} s of it (the guest's uptime at READY)"
    for id in $MTTY_ID $NVME_ID $NIC_ID; do
        case "$list" in *"=$id"*) ;; *) DETAIL="guest does not list $id"; return 1 ;; esac
    done
    DETAIL="guest ready ${GUEST_BOOT} s after start, sees mtty $MTTY_ID, the NVMe VF $NVME_ID, the NIC $NIC_ID"
}

t_unplug() {
    expect_rc 0 mdevrun unplug "$NAME" --timeout 120 || return 1
    said=$(printf '%s' "$OUT" | head -n 1)
    wait_for 180 in_serial "MDEVRUN-GUEST-PCI remove" || { DETAIL="guest did not report the removal"; return 1; }
    expect_rc 0 mdevrun status "$NAME" || return 1
    line_has "$(mdev_line)" "attached: no" "sysfs: present" || return 1
    DETAIL="$said (DEVICE_DELETED); the guest saw it go; mdev kept"
}

t_plug() {
    expect_rc 0 mdevrun plug "$NAME" || return 1
    wait_for 180 in_serial "MDEVRUN-GUEST-PCI add .* $MTTY_ID" || { DETAIL="guest did not see $MTTY_ID come back"; return 1; }
    echo "E2E-OUT $(grep "MDEVRUN-GUEST-PCI add" "$SERIAL" | tail -n 1)"
    expect_rc 0 mdevrun status "$NAME" || return 1
    line_has "$(mdev_line)" "attached: yes" || return 1
    DETAIL="guest sees $MTTY_ID again, status attached"
}

t_unplug_remove() {
    n=$(grep -c "MDEVRUN-GUEST-PCI remove" "$SERIAL")
    expect_rc 0 mdevrun unplug "$NAME" --timeout 120 --remove-mdev || return 1
    has "removed mdev $UUID" || return 1
    [ ! -e "$MDEVS/$UUID" ] || { DETAIL="mdev $UUID still in sysfs"; return 1; }
    more_removes() { [ "$(grep -c "MDEVRUN-GUEST-PCI remove" "$SERIAL")" -gt "$n" ]; }
    wait_for 180 more_removes || { DETAIL="guest did not see the removal"; return 1; }
    expect_rc 0 mdevrun status "$NAME" || return 1
    line_has "$(mdev_line)" "sysfs: missing" "attached: no" || return 1
    DETAIL="unplugged, mdev $UUID gone from sysfs"
}

t_stop() {
    expect_rc 0 mdevrun stop "$NAME" --timeout 120 || return 1
    dead "$QEMU_PID" || { DETAIL="qemu $QEMU_PID still running"; return 1; }
    [ ! -e "/run/mdevrun/$NAME" ] || { DETAIL="/run/mdevrun/$NAME left behind"; return 1; }
    grep -q MDEVRUN-GUEST-POWEROFF "$SERIAL" || { DETAIL="guest did not power off (forced?)"; return 1; }
    DETAIL="guest powered off, qemu gone, runtime dir removed"
}

t_leftovers() {
    left=$(ls "$MDEVS"; ls /run/mdevrun 2>/dev/null | grep -v '^locks$'; pidof qemu-system-x86_64)
    [ -z "$left" ] || { DETAIL="left behind: $(echo $left)"; return 1; }
    pci_pristine || return 1
    expect_rc 0 mdevrun list || return 1
    case "$OUT" in *e2e-*) DETAIL="mdevrun list still shows an instance"; return 1 ;; esac
    DETAIL="no mdev, no qemu, no runtime dir"
}

# --- PCI slices ------------------------------------------------------------------------------

t_nonviable_group() {
    expect_rc 3 $START "$P/e2e-nonviable.json" || return 1
    has "shares IOMMU group" && has "$BR_NIC2" && has "driver e1000" || return 1
    [ "$(drv $BR_NIC)" = e1000 ] && [ "$(override $BR_NIC)" = "(null)" ] ||
        { DETAIL="$BR_NIC changed: $(drv $BR_NIC), override $(override $BR_NIC)"; return 1; }
    DETAIL="refused: $(printf '%s' "$OUT" | head -n 1 | cut -c1-160); nothing changed"
}

t_vf_unplug_plug() {
    n=$(grep -c "MDEVRUN-GUEST-PCI remove" "$SERIAL")
    expect_rc 0 mdevrun unplug "$NAME" vf0 --timeout 120 || return 1
    more_removes() { [ "$(grep -c "MDEVRUN-GUEST-PCI remove" "$SERIAL")" -gt "$n" ]; }
    wait_for 180 more_removes || { DETAIL="guest did not see the VF go"; return 1; }
    expect_rc 0 mdevrun status "$NAME" || return 1
    printf '%s\n' "$OUT" | grep "vf0: vf" | grep -q "attached: no" || { DETAIL="status: $OUT"; return 1; }
    [ "$(drv $VF0)" = vfio-pci ] || { DETAIL="unplugged VF left vfio-pci"; return 1; }
    expect_rc 0 mdevrun plug "$NAME" vf0 || return 1
    # The uevent's PCI_ID is upper case (1B36:0010).
    wait_for 180 in_serial_i "MDEVRUN-GUEST-PCI add .* $NVME_ID" || { DETAIL="guest did not see $NVME_ID come back"; return 1; }
    expect_rc 0 mdevrun status "$NAME" || return 1
    printf '%s\n' "$OUT" | grep "vf0: vf" | grep -q "attached: yes" || { DETAIL="status: $OUT"; return 1; }
    DETAIL="VF $VF0 unplugged (guest saw it go, VF kept on vfio-pci) and plugged back ($NVME_ID)"
}

t_slices_restored() {
    pci_pristine || return 1
    [ ! -e "$PCI/$VF0" ] || { DETAIL="VF $VF0 still exists"; return 1; }
    DETAIL="sriov_numvfs 0 and autoprobe 1 again, $NIC back on e1000e, no driver_override left"
}

t_vf_crash_recovery() {
    expect_rc 0 $START --detach "$P/e2e-vf-killed.json" || return 1
    expect_rc 0 mdevrun status e2e-vf-killed --json || return 1
    pid=$(json_field qemu_pid) sup=$(json_field supervisor_pid)
    [ "$(drv $VF0)" = vfio-pci ] && [ "$(pf_attr sriov_numvfs)" = 2 ] || { DETAIL="VF not prepared"; return 1; }
    echo "E2E-CMD kill -9 $sup   # the supervisor of e2e-vf-killed, with a VF attached"
    kill -9 "$sup"
    wait_for 30 dead "$pid" || { DETAIL="qemu $pid outlived its supervisor"; return 1; }
    [ "$(pf_attr sriov_numvfs)" = 2 ] || { DETAIL="numvfs changed before anyone looked"; return 1; }
    expect_rc 0 mdevrun list || return 1
    has "cleaned up instance e2e-vf-killed" || return 1
    pci_pristine || return 1
    DETAIL="after kill -9 of the supervisor, \`mdevrun list\` put back numvfs 0, autoprobe 1"
}

t_vf_someone_elses() {
    # By hand, as an admin would: 2 VFs with autoprobe off (nvme's asynchronous probe of a VF
    # would race the rebinding), VF 1 on vfio-pci, autoprobe back on.
    echo 0 >"$PCI/$PF/sriov_drivers_autoprobe"
    echo 2 >"$PCI/$PF/sriov_numvfs" || { DETAIL="cannot enable VFs by hand"; return 1; }
    echo 1 >"$PCI/$PF/sriov_drivers_autoprobe"
    echo vfio-pci >"$PCI/$VF1/driver_override"
    echo "$VF1" >/sys/bus/pci/drivers_probe
    [ "$(drv $VF1)" = vfio-pci ] || { DETAIL="could not bind $VF1 to vfio-pci by hand"; return 1; }
    expect_rc 0 $START --detach "$P/e2e-vf-theirs.json" || return 1
    expect_rc 0 mdevrun status e2e-vf-theirs || return 1
    has "vf: vf $VF1" || return 1
    expect_rc 0 mdevrun stop e2e-vf-theirs --timeout 60 --force || return 1
    [ "$(pf_attr sriov_numvfs)" = 2 ] || { DETAIL="mdevrun changed numvfs it did not set"; return 1; }
    [ "$(drv $VF1)" = vfio-pci ] && [ "$(override $VF1)" = vfio-pci ] ||
        { DETAIL="mdevrun changed $VF1 (now $(drv $VF1), override $(override $VF1))"; return 1; }
    DETAIL="someone else's VF $VF1 used and left on vfio-pci with numvfs 2"
}
undo_someone_elses() {  # by hand again, so leftovers sees the outer VM as it booted
    if [ "$(drv $VF1)" = vfio-pci ]; then echo "$VF1" >/sys/bus/pci/drivers/vfio-pci/unbind || true; fi
    if [ -e "$PCI/$VF1" ]; then echo >"$PCI/$VF1/driver_override" || true; fi
    echo 0 >"$PCI/$PF/sriov_numvfs" 2>/dev/null || true
    echo 1 >"$PCI/$PF/sriov_drivers_autoprobe" 2>/dev/null || true
}

# --- run --------------------------------------------------------------------------------------

main_step modules t_modules
main_step types t_types
step check-slices t_check_slices
main_step start t_start
main_step status t_status
if [ $MAIN_OK = 1 ]; then step second-launcher t_second_launcher
else echo "E2E-STEP second-launcher FAIL 0.00 not run: the main VM did not start"; FAILED=$((FAILED + 1)); fi
step uuid-taken t_uuid_taken;         hand_remove_all
step exhaust-mdpy t_exhaust_mdpy;     hand_remove_all
step exhaust-mbochs t_exhaust_mbochs; hand_remove_all
step busy-vfio t_busy_vfio;           kill_raw; hand_remove_all
step no-gl t_no_gl
step qemu-killed t_qemu_killed
step nonviable-group t_nonviable_group
main_step guest-boot t_guest_boot
main_step unplug t_unplug
main_step plug t_plug
main_step unplug-remove-mdev t_unplug_remove
main_step vf-unplug-plug t_vf_unplug_plug
main_step stop t_stop
cleanup
step slices-restored t_slices_restored
step vf-crash-recovery t_vf_crash_recovery
step vf-someone-elses t_vf_someone_elses
mdevrun stop --force e2e-vf-theirs >/dev/null 2>&1 || true  # if the step failed midway
undo_someone_elses
step leftovers t_leftovers

echo "E2E-DONE passed=$PASSED failed=$FAILED"
[ "$FAILED" = 0 ]

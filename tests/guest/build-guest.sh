#!/bin/bash
# Build a tiny Linux guest for mdevrun integration tests (hot-unplug/plug,
# ACPI power button). Debian packages only, no internet beyond the apt archive.
#
# Usage: tests/guest/build-guest.sh [--force]
#   env MDEVRUN_CACHE       cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/mdevrun)
#   env MDEVRUN_KERNEL_PKG  kernel package (default: what linux-image-amd64 depends on)
#   env MDEVRUN_GUEST_KERNEL
#                           own (default): the guest's own small kernel, built once from that
#                           package's linux-source (tests/guest/build-kernel.sh), all built in;
#                           debian: Debian's kernel itself, with the button/evdev modules
#
# Output ($CACHE/guest/):
#   vmlinux             uncompressed ELF kernel; qemu boots it via PVH (-kernel vmlinux),
#                       which skips the bzImage real-mode setup + decompression (slow in TCG)
#   vmlinuz             debian only: the Debian bzImage, kept as a fallback (-kernel vmlinuz)
#   initramfs.cpio.gz   static busybox + /init (+ button/evdev modules with debian)
#   cmdline             kernel command line to pass with -append
#   stamp               cache key (kernel package + version + inputs); warm runs just print paths
# The last line printed on stdout is the output directory.
#
# Guest behaviour (see /init below):
#   - prints "MDEVRUN-GUEST-READY" on the serial console once the power-button
#     watcher runs (i.e. the guest answers system_powerdown from then on);
#   - prints "MDEVRUN-GUEST-PCI-LIST <slot>=<vendor>:<device> ..." just before READY, and
#     "MDEVRUN-GUEST-PCI <add|remove> <slot> <VENDOR:DEVICE> devices=<list>" on PCI hotplug;
#   - powers off (poweroff -f) on the ACPI power button (QMP system_powerdown);
#   - with mdevrun.virtiofs=TAG on the kernel command line, mounts that virtio-fs share and prints
#     "MDEVRUN-GUEST-VIRTIOFS TAG <its file marker>" and "MDEVRUN-GUEST-VIRTIOFS-WRITE TAG
#     written|refused" before READY.
#   PCI hot-unplug on q35 uses ACPI PCI hotplug (CONFIG_HOTPLUG_PCI_ACPI=y, built in,
#   in both kernels) and is answered by the kernel itself.
set -euo pipefail

LOG_TAG=build-guest
. "$(dirname "$0")/lib.sh"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

OUT=$CACHE/guest
cache_lock guest

# Kernel command line:
#   console=ttyS0   serial console (qemu -serial stdio / chardev); the markers go there
#   quiet           keep boot chatter off the console: faster under TCG, easy to grep
#   panic=-1        reboot immediately on panic (use with -no-reboot so qemu exits
#                   instead of hanging)
#   mitigations=off nothing to protect in a throwaway guest, saves a bit of TCG time
CMDLINE="console=ttyS0 quiet panic=-1 mitigations=off"

ensure_pkgs busybox-static xz-utils cpio gzip file binutils   # binutils: readelf
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" | grep -q 'statically linked' || die "$BUSYBOX is not static (busybox-static?)"

GUEST_KERNEL=${MDEVRUN_GUEST_KERNEL:-own}
case "$GUEST_KERNEL" in
    own)
        OWN_VMLINUX=$("$(dirname "$0")/build-kernel.sh" | tail -n1) ||
            die "the guest kernel did not build; MDEVRUN_GUEST_KERNEL=debian uses Debian's kernel"
        KERNEL_KEY="own $(cat "$(dirname "$OWN_VMLINUX")/stamp")" ;;
    debian)
        kernel_tree   # sets KPKG KPKG_VER KTREE KVER KMODDIR
        KERNEL_KEY="$KPKG=$KPKG_VER" ;;
    *) die "MDEVRUN_GUEST_KERNEL=$GUEST_KERNEL: own or debian" ;;
esac

# Cache key: the kernel + busybox version + this script and lib.sh.
KEY="kernel=$KERNEL_KEY busybox=$(dpkg-query -W -f='${Version}' busybox-static) cmdline=$CMDLINE"
KEY="$KEY inputs=$(cat "$0" "$(dirname "$0")/lib.sh" | sha256sum | cut -c1-16)"

if [ $FORCE = 0 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$KEY" ]; then
    log "up to date ($GUEST_KERNEL kernel)"
    ls -1 "$OUT"/vmlinu[xz] "$OUT"/initramfs.cpio.gz "$OUT"/cmdline
    echo "$OUT"
    exit 0
fi

rm -rf "$OUT"; mkdir -p "$OUT"

# --- kernel -----------------------------------------------------------------
if [ "$GUEST_KERNEL" = own ]; then
    cp "$OWN_VMLINUX" "$OUT/vmlinux"
else
    cp "$KTREE/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
    VMLINUX=$(debian_vmlinux)
    if [ "$VMLINUX" = "$KTREE/vmlinux" ]; then cp "$VMLINUX" "$OUT/vmlinux"
    else ln -s vmlinuz "$OUT/vmlinux"; fi
fi

# --- initramfs ----------------------------------------------------------------
ROOT=$OUT/rootfs
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,var/log,var/run,etc/acpi/PWRF,lib/modules}

cp "$BUSYBOX" "$ROOT/bin/busybox"
# Applet symlinks at build time (no `busybox --install` work at boot).
for a in $("$BUSYBOX" --list-full); do
    [ -e "$ROOT/$a" ] || ln -s /bin/busybox "$ROOT/$a"
done

# /dev/console must exist before /init runs or init has no stdout.
mknod -m 600 "$ROOT/dev/console" c 5 1
mknod -m 666 "$ROOT/dev/null" c 1 3

# Modules (Debian's kernel only; the own kernel has them built in): button (ACPI power button
# -> input event) and evdev (/dev/input/event*, which busybox acpid reads), plus dependencies
# from modules.dep, in load order.
: >"$ROOT/etc/modules.load"
if [ "$GUEST_KERNEL" = debian ]; then
    for rel in $(mod_closure button evdev); do
        copy_module "$rel" "$ROOT/lib/modules" >>"$ROOT/etc/modules.load"
    done
    # virtio-fs for mdevrun.virtiofs=TAG (below): the virtio PCI transport and virtiofs (+ fuse).
    for rel in $(mod_closure virtio_pci virtiofs); do
        copy_module "$rel" "$ROOT/lib/modules" >>"$ROOT/etc/modules.load"
    done
fi

# busybox acpid turns the KEY_POWER input event into the action "PWRF/00000080"
# and runs /etc/acpi/PWRF/00000080.
cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "MDEVRUN-GUEST-POWEROFF" >/dev/console
poweroff -f
EOF
chmod 755 "$ROOT/etc/acpi/PWRF/00000080"

# PCI device list as "<slot>=<vendor>:<device>" words, e.g. 0000:01:00.0=4348:3253.
cat >"$ROOT/bin/pci-list" <<'EOF'
#!/bin/sh
for d in /sys/bus/pci/devices/*; do
    [ -e "$d/vendor" ] || continue
    v=$(cat "$d/vendor"); i=$(cat "$d/device")
    printf '%s=%s:%s ' "${d##*/}" "${v#0x}" "${i#0x}"
done
EOF
# uevent handler: report PCI hotplug on the console (event driven, no polling).
cat >"$ROOT/etc/pci-uevent" <<'EOF'
#!/bin/sh
[ "$SUBSYSTEM" = pci ] || exit 0
case "$ACTION" in add|remove) ;; *) exit 0 ;; esac
echo "MDEVRUN-GUEST-PCI $ACTION ${PCI_SLOT_NAME:-?} ${PCI_ID:-} devices=$(pci-list)" >/dev/console
EOF
chmod 755 "$ROOT/etc/pci-uevent" "$ROOT/bin/pci-list"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# PID 1 of the mdevrun test guest (generated by tests/guest/build-guest.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

for m in $(cat /etc/modules.load); do
    insmod "/lib/modules/$m" || echo "MDEVRUN-GUEST-WARN insmod $m failed"
done

# acpid opens /dev/input/event* at start-up: wait for the power button's node.
i=0
until grep -qs 'Power Button' /sys/class/input/event*/device/name && ls /dev/input/event* >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "MDEVRUN-GUEST-WARN no power button input"; break; }
    sleep 0.1
done
# Start the watchers in the foreground-mode, backgrounded, and only announce
# READY once they hold their fds: acpid opens /dev/input/event* after it
# started, so a power button pressed right after READY would otherwise be lost.
acpid -f -c /etc/acpi -l /dev/null -p /run/acpid.pid &
apid=$!
uevent /etc/pci-uevent >/dev/null 2>&1 &
upid=$!
i=0
until ls -l /proc/$apid/fd 2>/dev/null | grep -q /dev/input/event &&
      ls -l /proc/$upid/fd 2>/dev/null | grep -q 'socket:'; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "MDEVRUN-GUEST-WARN watchers not ready"; break; }
    sleep 0.05
done

# mdevrun.virtiofs=TAG on the kernel command line: mount that virtio-fs share on /mnt/TAG, print
# its file "marker" and say whether the guest can write there (a read-only share must refuse).
for w in $(cat /proc/cmdline); do
    case $w in mdevrun.virtiofs=*)
        t=${w#mdevrun.virtiofs=}; mkdir -p "/mnt/$t"
        if mount -t virtiofs "$t" "/mnt/$t"; then
            echo "MDEVRUN-GUEST-VIRTIOFS $t $(cat "/mnt/$t/marker" 2>&1)"
            if echo guest >"/mnt/$t/from-guest" 2>/dev/null; then w=written; else w=refused; fi
            echo "MDEVRUN-GUEST-VIRTIOFS-WRITE $t $w"
        else
            echo "MDEVRUN-GUEST-VIRTIOFS $t mount failed"
        fi ;;
    esac
done

# Extra test hooks: /guest.d/*.sh in the initramfs run before READY.
for f in /guest.d/*.sh; do [ -e "$f" ] && . "$f"; done

echo "MDEVRUN-GUEST-PCI-LIST $(pci-list)"
echo "MDEVRUN-GUEST-UPTIME $(cut -d' ' -f1 /proc/uptime)"
echo "MDEVRUN-GUEST-READY"

# mdevrun.shell on the kernel command line: interactive shell on the console.
if grep -qw mdevrun.shell /proc/cmdline; then
    while :; do setsid cttyhack sh; done
fi
while :; do sleep 3600; done
EOF
chmod 755 "$ROOT/init"

(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$OUT/initramfs.cpio.gz"
rm -rf "$ROOT"

echo "$CMDLINE" >"$OUT/cmdline"
echo "$KEY" >"$OUT/stamp"

log "built guest (kernel=$KERNEL_KEY)"
ls -1 "$OUT"/vmlinu[xz] "$OUT"/initramfs.cpio.gz "$OUT"/cmdline
echo "$OUT"

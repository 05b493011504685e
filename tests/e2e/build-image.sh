#!/bin/bash
# Build the end-to-end test image: an "outer" VM (Debian kernel + initramfs)
# that has the kernel's sample mdev drivers (mtty, mdpy, mbochs), the host's
# qemu-system-x86_64, and an "inner" guest (tests/guest) to start with an mdev.
# Debian packages only; no internet beyond the apt archive.
#
# Usage: tests/e2e/build-image.sh [MDEVRUN_BINARY [EXTRA_DIR]] [--force]
#   MDEVRUN_BINARY  copied to /mdevrun/mdevrun (+ /usr/bin/mdevrun) with its ldd libraries
#   EXTRA_DIR       its contents are copied into /mdevrun/ (profiles, test script, ...);
#                   the outer /init runs /mdevrun/test.sh if present (see below)
#   env MDEVRUN_CACHE, MDEVRUN_KERNEL_PKG: see tests/guest/lib.sh
#
# Output ($CACHE/e2e/):
#   vmlinux          outer kernel: Debian's, PVH-bootable ELF (the inner guest boots its own
#                    small kernel unless MDEVRUN_GUEST_KERNEL=debian, tests/guest/build-guest.sh)
#   initramfs.cpio   outer initramfs (~120 MB), deliberately uncompressed: no gzip
#                    step on rebuilds (e.g. a new mdevrun binary) and no gunzip in
#                    the TCG guest; measured boot time equal to gzip -1 within noise
#   cmdline          outer kernel command line
#   modules/         mtty.ko mdpy.ko mbochs.ko as built
#   stamp            cache key
# The last line printed on stdout is the output directory.
#
# Outer /init: mounts proc/sys/devtmpfs, insmods vfio, vfio_iommu_type1, mdev
# (+deps), mtty, mdpy, mbochs, starts acpid (power button -> poweroff), prints
# MDEVRUN-E2E-READY and then runs, in order of preference:
#   mdevrun.shell on the kernel command line -> interactive shell on ttyS0
#   mdevrun.test=PATH                        -> PATH, then poweroff
#   /mdevrun/test.sh                         -> it, then poweroff
# A test's exit status is printed as "MDEVRUN-E2E-EXIT rc=N" before poweroff.
# No IOMMU is needed in the outer VM: the mdev samples register "emulated IOMMU"
# vfio devices, which vfio_iommu_type1 handles without hardware (verified by
# tests/e2e/smoke-test.sh, which boots without intel_iommu / -device intel-iommu).
set -euo pipefail

LOG_TAG=build-image
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../guest/lib.sh"

FORCE=0 ARGS=()
for a in "$@"; do
    case "$a" in --force) FORCE=1 ;; *) ARGS+=("$a") ;; esac
done
MDEVRUN_BIN=${ARGS[0]:-}
EXTRA_DIR=${ARGS[1]:-}
[ -z "$MDEVRUN_BIN" ] || [ -f "$MDEVRUN_BIN" ] || die "no such binary: $MDEVRUN_BIN"
[ -z "$EXTRA_DIR" ] || [ -d "$EXTRA_DIR" ] || die "no such directory: $EXTRA_DIR"

OUT=$CACHE/e2e
QEMU=/usr/bin/qemu-system-x86_64
QEMU_MODDIR=/usr/lib/x86_64-linux-gnu/qemu
# Outer kernel command line (same rationale as tests/guest/build-guest.sh).
# intel_iommu=on: the emulated IOMMU (run-e2e.sh) gives the PCI slices their groups.
CMDLINE="console=ttyS0 quiet panic=-1 mitigations=off intel_iommu=on"

# gcc-12: the compiler Debian built this kernel with (CONFIG_CC_VERSION_TEXT);
# libelf1: objtool from linux-kbuild links it.
ensure_pkgs busybox-static xz-utils cpio gzip file make gcc-12 libc6-dev libelf1 \
    qemu-system-x86 qemu-system-data seabios

kernel_tree     # KPKG KPKG_VER KTREE KVER KMODDIR (from lib.sh)

# Inner guest.
cache_lock e2e     # the modules, the image and the logs under $CACHE/e2e
cache_lock guest   # held while the guest is copied in, not only while build-guest.sh checks it
GDIR=$("$HERE/../guest/build-guest.sh" | tail -n1)

# ---------------------------------------------------------------------------
# 1. Sample mdev modules, built out of tree against the Debian headers.
#    Everything is pinned to the kernel image's version: the headers' vermagic
#    and Module.symvers must match the kernel we boot.
# ---------------------------------------------------------------------------
HDR_PKG=linux-headers-$KVER                                    # ...-56-amd64
HDR_DEPS=$(acache depends "$HDR_PKG")
COMMON_PKG=$(awk '/Depends: linux-headers-.*-common/ {print $2; exit}' <<<"$HDR_DEPS")
KBUILD_PKG=$(awk '/Depends: linux-kbuild-/ {print $2; exit}' <<<"$HDR_DEPS")
SERIES=${KBUILD_PKG#linux-kbuild-}                             # 6.1
SRC_PKG=linux-source-$SERIES
[ -n "$COMMON_PKG" ] && [ -n "$KBUILD_PKG" ] || die "cannot resolve headers dependencies of $HDR_PKG"

MODS=$OUT/modules
MODS_KEY="$KPKG_VER $(sha256sum "$0" | cut -c1-16)"
if [ $FORCE = 1 ] || [ "$(cat "$MODS/.stamp" 2>/dev/null)" != "$MODS_KEY" ]; then
    KB=$CACHE/kbuild/$KPKG_VER          # headers + kbuild extracted into one root
    if [ ! -e "$KB/.extracted" ]; then
        rm -rf "$KB"; mkdir -p "$KB"
        for p in "$HDR_PKG" "$COMMON_PKG" "$KBUILD_PKG"; do
            # Same version as the image: a newer linux-source/headers would not match.
            deb=$(fetch_deb "$p" "$KPKG_VER")
            log "dpkg -x $(basename "$deb")"
            dpkg -x "$deb" "$KB"
        done
        # The flavour Makefile is a one-liner including the -common Makefile by
        # absolute path; point it into the extracted tree. (scripts/ and tools/
        # are relative symlinks to ../../lib/linux-kbuild-6.1/ and just work
        # because all three packages share one extraction root.)
        sed -i "s|^include /usr/src/|include $KB/usr/src/|" "$KB/usr/src/$HDR_PKG/Makefile"
        # Any other absolute symlink into /usr inside the tree: make it local.
        find "$KB/usr" -type l -lname '/usr/*' | while read -r l; do
            ln -sfn "$KB$(readlink "$l")" "$l"
        done
        # Only samples/vfio-mdev/ from the ~140 MB source tarball, streamed.
        deb=$(fetch_deb "$SRC_PKG" "$KPKG_VER")
        log "extracting samples/vfio-mdev from $(basename "$deb")"
        mkdir -p "$KB/src"
        dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$SRC_PKG.tar.xz" \
            | tar -xJ -C "$KB/src" "$SRC_PKG/samples/vfio-mdev"
        touch "$KB/.extracted"
    fi
    BUILD=$CACHE/kbuild/samples-$KPKG_VER
    rm -rf "$BUILD"; mkdir -p "$BUILD"
    cp "$KB/src/$SRC_PKG/samples/vfio-mdev/"*.[ch] "$BUILD/"
    # The in-tree Makefile keys on CONFIG_SAMPLE_VFIO_MDEV_* (unset in Debian's
    # config). mdpy-fb is the guest-side framebuffer driver; not needed here.
    echo 'obj-m := mtty.o mdpy.o mbochs.o' >"$BUILD/Kbuild"
    log "building mtty mdpy mbochs against $HDR_PKG $KPKG_VER"
    make -s -C "$KB/usr/src/$HDR_PKG" M="$BUILD" CC=gcc-12 -j"$(nproc)" modules 2>&1 \
        | grep -v 'Skipping BTF generation' >&2 || true   # no vmlinux BTF in headers: harmless
    for m in mtty mdpy mbochs; do
        [ -f "$BUILD/$m.ko" ] || die "$m.ko was not built"
    done
    rm -rf "$MODS"; mkdir -p "$MODS"
    cp "$BUILD"/{mtty,mdpy,mbochs}.ko "$MODS/"
    echo "$MODS_KEY" >"$MODS/.stamp"
fi

# ---------------------------------------------------------------------------
# 2. Outer initramfs.
# ---------------------------------------------------------------------------
hash_tree() {   # content hash of a file or directory (for the cache key)
    if [ -d "$1" ]; then (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) | sha256sum
    else sha256sum <"$1"; fi | cut -c1-16
}
KEY="kernel=$KPKG=$KPKG_VER qemu=$(dpkg-query -W -f='${Version}' qemu-system-x86)"
KEY="$KEY busybox=$(dpkg-query -W -f='${Version}' busybox-static) guest=$(hash_tree "$GDIR/stamp")"
KEY="$KEY inputs=$(cat "$0" "$HERE/vm-smoke.sh" "$HERE/../guest/lib.sh" | sha256sum | cut -c1-16)"
KEY="$KEY mods=$(cat "$MODS"/*.ko | sha256sum | cut -c1-16)"
[ -z "$MDEVRUN_BIN" ] || KEY="$KEY mdevrun=$(hash_tree "$MDEVRUN_BIN")"
[ -z "$EXTRA_DIR" ] || KEY="$KEY extra=$(hash_tree "$EXTRA_DIR")"

if [ $FORCE = 0 ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$KEY" ]; then
    log "up to date ($KPKG $KPKG_VER)"
    ls -1 "$OUT"/vmlinux "$OUT"/initramfs.cpio "$OUT"/cmdline
    echo "$OUT"
    exit 0
fi

ROOT=$OUT/rootfs
rm -rf "$ROOT"
# Merged-/usr layout like Debian 12, so ldd's paths (/lib/x86_64-linux-gnu/...,
# /lib64/ld-linux-x86-64.so.2) and qemu's compiled-in paths all resolve.
mkdir -p "$ROOT"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64,share} \
         "$ROOT"/{dev,proc,sys,run,tmp,var/log,etc/acpi/PWRF,guest,e2e}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
ln -s /run "$ROOT/var/run"

cp "$(readlink -f /bin/busybox)" "$ROOT/usr/bin/busybox"
for a in $(busybox --list-full); do
    [ -e "$ROOT/$a" ] || [ -L "$ROOT/$a" ] || ln -s /bin/busybox "$ROOT/$a"
done
mknod -m 600 "$ROOT/dev/console" c 5 1
mknod -m 666 "$ROOT/dev/null" c 1 3

# copy_elf FILE [DEST]: copy a dynamically linked ELF and every library ldd
# names (and the dynamic loader) to the same paths inside $ROOT.
copy_elf() {
    local f=$1 dest=${2:-$1} lib
    mkdir -p "$ROOT$(dirname "$dest")"
    cp -L "$f" "$ROOT$dest"
    for lib in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
        [ -e "$ROOT$lib" ] && continue
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib"
    done
}

# qemu, its TCG accelerator module (Debian builds TCG as a module; without it
# "-accel tcg" fails), and the firmware a q35 -nodefaults VM loads: SeaBIOS,
# kvmvapic, the linuxboot/multiboot/pvh option ROMs used by -kernel.
copy_elf "$QEMU"
copy_elf "$QEMU_MODDIR/accel-tcg-x86_64.so"
mkdir -p "$ROOT/usr/share/qemu" "$ROOT/usr/share/seabios"
cp -L /usr/share/seabios/*.bin "$ROOT/usr/share/seabios/"
for f in kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin multiboot_dma.bin pvh.bin; do
    cp -L "/usr/share/qemu/$f" "$ROOT/usr/share/qemu/"
done

# Kernel modules, laid out as /lib/modules/$KVER/{kernel,extra} with a
# modules.dep, so busybox modprobe works inside too.
KROOT=$ROOT/usr/lib/modules/$KVER
mkdir -p "$KROOT/extra"
: >"$ROOT/etc/modules.load"
# vfio-pci for the PCI slices; nvme (the SR-IOV PF and its VFs), e1000e (the whole device) and
# e1000 (the NICs behind a bridge: a shared IOMMU group). The crypto helpers t10-pi and
# crc-t10dif look up by name are soft dependencies, absent from modules.dep: listed first.
for rel in $(mod_closure vfio vfio_iommu_type1 mdev button evdev vfio-pci \
        crct10dif_generic crc64_rocksoft_generic nvme e1000e e1000); do
    mkdir -p "$KROOT/$(dirname "$rel")"
    name=$(copy_module "$rel" "$KROOT/$(dirname "$rel")")
    echo "$(dirname "$rel")/$name" >>"$ROOT/etc/modules.load"
done
# The samples only need vfio and mdev (modinfo depends=vfio,mdev; mbochs'
# dma-buf support is built into the kernel), loaded above.
for m in mtty mdpy mbochs; do
    cp "$MODS/$m.ko" "$KROOT/extra/"
    echo "extra/$m.ko" >>"$ROOT/etc/modules.load"
done
cp "$KMODDIR/modules.builtin" "$KROOT/"
busybox depmod -b "$ROOT" "$KVER"

# Inner guest.
cp "$GDIR/vmlinux" "$GDIR/initramfs.cpio.gz" "$GDIR/cmdline" "$ROOT/guest/"

# In-VM smoke test (run by tests/e2e/smoke-test.sh via mdevrun.test=/e2e/vm-smoke.sh).
install -m 755 "$HERE/vm-smoke.sh" "$ROOT/e2e/vm-smoke.sh"

# Optional mdevrun binary and extra files.
if [ -n "$MDEVRUN_BIN" ]; then
    copy_elf "$(readlink -f "$MDEVRUN_BIN")" /mdevrun/mdevrun
    ln -s /mdevrun/mdevrun "$ROOT/usr/bin/mdevrun"
fi
if [ -n "$EXTRA_DIR" ]; then
    mkdir -p "$ROOT/mdevrun"
    cp -a "$EXTRA_DIR/." "$ROOT/mdevrun/"
fi

cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "MDEVRUN-E2E-POWEROFF" >/dev/console
poweroff -f
EOF
chmod 755 "$ROOT/etc/acpi/PWRF/00000080"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# PID 1 of the mdevrun e2e outer VM (generated by tests/e2e/build-image.sh).
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts /root && mount -t tmpfs tmpfs /dev/shm && mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1
hostname mdevrun-e2e

t0=$(cut -d' ' -f1 /proc/uptime)
for m in $(cat /etc/modules.load); do
    insmod "/lib/modules/$(uname -r)/$m" || echo "MDEVRUN-E2E-WARN insmod $m failed"
done
echo "MDEVRUN-E2E-MODULES loaded in $(awk -v a="$t0" '{printf "%.2f", $1 - a}' /proc/uptime)s: $(lsmod | awk 'NR > 1 {print $1}' | tr '\n' ' ')"

if ls /dev/input/event* >/dev/null 2>&1; then
    acpid -f -c /etc/acpi -l /dev/null -p /run/acpid.pid &
fi
echo "MDEVRUN-E2E-READY uptime=$(cut -d' ' -f1 /proc/uptime)"

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n1; }
test=$(arg mdevrun.test)
[ -z "$test" ] && [ -x /mdevrun/test.sh ] && test=/mdevrun/test.sh
if grep -qw mdevrun.shell /proc/cmdline || [ -z "$test" ]; then
    [ -z "$test" ] || echo "MDEVRUN-E2E-INFO mdevrun.shell given, not running $test"
    while :; do setsid cttyhack sh -l; done
fi
cd /tmp
sh "$test"
echo "MDEVRUN-E2E-EXIT rc=$?"
sync
poweroff -f
EOF
chmod 755 "$ROOT/init"

log "writing initramfs.cpio"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
rm -rf "$ROOT"
OUTER_VMLINUX=$(debian_vmlinux)    # Debian's: the modules above are built for it
rm -f "$OUT/vmlinux"
ln "$OUTER_VMLINUX" "$OUT/vmlinux" 2>/dev/null || cp "$OUTER_VMLINUX" "$OUT/vmlinux"
echo "$CMDLINE" >"$OUT/cmdline"
echo "$KEY" >"$OUT/stamp"

log "built e2e image: $KPKG $KPKG_VER, $HDR_PKG, $COMMON_PKG, $KBUILD_PKG, $SRC_PKG (all $KPKG_VER), initramfs $(du -h "$OUT/initramfs.cpio" | cut -f1)"
ls -1 "$OUT"/vmlinux "$OUT"/initramfs.cpio "$OUT"/cmdline
echo "$OUT"

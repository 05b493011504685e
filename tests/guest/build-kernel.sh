#!/bin/bash
# Build the tiny guest's own kernel: Debian's linux-source (the same package and version the e2e
# builds its sample mdev drivers from), configured with allnoconfig plus
# tests/guest/guest-kernel.config, everything built in (no modules). Measured qemu start to
# MDEVRUN-GUEST-READY: 0.8 s vs 2.3 s for Debian's kernel under TCG, 22 s vs 58-154 s under the
# e2e's nested TCG, where every initcall and insmod it skips costs many times over.
# Debian packages only, no internet beyond the apt archive.
#
# Usage: tests/guest/build-kernel.sh [--force]
#   env MDEVRUN_CACHE, MDEVRUN_KERNEL_PKG: see lib.sh; MDEVRUN_KERNEL_JOBS: make -j (nproc)
#
# Output ($CACHE/guest-kernel/):
#   vmlinux   stripped ELF with the PVH entry note (qemu -kernel vmlinux)
#   config    the .config it was built with
#   stamp     cache key: source package + version, the fragment, gcc, RECIPE below
# The last line printed on stdout is the path of vmlinux. A cold build (unpack the ~1.5 GB tree,
# 10-15 s; compile 955 objects) took 158-194 s on 2 quiet cores (194-224 s for the 1049 objects
# before guest-kernel.config's EXPERT trim; 294-525 s at load 2-5); the tree is deleted afterwards.
set -euo pipefail

LOG_TAG=build-kernel
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

OUT=$CACHE/guest-kernel
FRAGMENT=$HERE/guest-kernel.config
cache_lock guest_kernel

# bison, flex: kconfig's parser; libelf-dev: objtool (x86_64 always builds it); bc: timeconst.
ensure_pkgs make gcc libc6-dev bc bison flex libelf-dev xz-utils binutils

kernel_version    # KPKG KPKG_VER
SRC_PKG=$(source_pkg)
# Not this script's hash: a comment edit must not cost a 3-9 minute rebuild. Bump RECIPE when a
# change to the steps below changes the kernel.
RECIPE=1
KEY="source=$SRC_PKG=$KPKG_VER fragment=$(sha256sum <"$FRAGMENT" | cut -c1-16)"
KEY="$KEY gcc=$(gcc -dumpfullversion) recipe=$RECIPE"

if [ $FORCE = 0 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$KEY" ] && [ -f "$OUT/vmlinux" ]; then
    log "up to date ($SRC_PKG $KPKG_VER)"
    echo "$OUT/vmlinux"
    exit 0
fi

t0=$SECONDS
rm -rf "$OUT"; mkdir -p "$OUT/build"
deb=$(fetch_deb "$SRC_PKG" "$KPKG_VER")
log "unpacking $(basename "$deb")"
# The whole tree: Kconfig files of every architecture and Documentation/ are sourced.
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$SRC_PKG.tar.xz" | tar -xJ -C "$OUT/build"
SRC=$OUT/build/$SRC_PKG
cd "$SRC"

# allnoconfig with the fragment as the base (merge_config.sh -n): whatever the fragment does not
# ask for stays off, so a new option in a newer source does not creep in.
export ARCH=x86_64
scripts/kconfig/merge_config.sh -n "$FRAGMENT" >"$OUT/build/config.log" 2>&1 ||
    { cat "$OUT/build/config.log" >&2; die "merge_config.sh failed"; }
make -s olddefconfig
# Every =y the fragment asks for must survive: a dependency that is off drops a symbol silently.
missing=$(grep -o '^CONFIG_[A-Za-z0-9_]*=y' "$FRAGMENT" | while read -r l; do
    grep -qx "$l" .config || echo "${l%=y}"
done)
[ -z "$missing" ] || die "not in .config (a dependency is off; see $FRAGMENT): $missing"

log "compiling $SRC_PKG $KPKG_VER (make -j${MDEVRUN_KERNEL_JOBS:-$(nproc)}, nice 19)"
# Fixed build identity: the same inputs give the same kernel on every machine.
nice -n 19 make -s -j"${MDEVRUN_KERNEL_JOBS:-$(nproc)}" KBUILD_BUILD_USER=mdevrun \
    KBUILD_BUILD_HOST=guest KBUILD_BUILD_TIMESTAMP="$KPKG_VER" vmlinux >"$OUT/build/make.log" 2>&1 ||
    { tail -n 40 "$OUT/build/make.log" >&2; die "kernel build failed (log: $OUT/build/make.log)"; }

# Stripped as the bzImage's payload is (arch/x86/boot/compressed: objcopy -R .comment -S): qemu
# reads a smaller file and has no symbol table to load.
objcopy -R .comment -S vmlinux "$OUT/vmlinux.tmp"
has_pvh_note "$OUT/vmlinux.tmp" || die "the built vmlinux has no PVH entry note (CONFIG_PVH?)"
mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
cp .config "$OUT/config"
cd "$OUT"
rm -rf "$OUT/build"
echo "$KEY" >"$OUT/stamp"

log "built $SRC_PKG $KPKG_VER in $((SECONDS - t0)) s: vmlinux $(du -h "$OUT/vmlinux" | cut -f1)"
echo "$OUT/vmlinux"

# shellcheck shell=bash
# Shared helpers for tests/guest/*.sh and tests/e2e/*.sh.
# Sourced, not executed. Callers run with `set -euo pipefail`.
#
# Everything heavy lives under $MDEVRUN_CACHE (default: ${XDG_CACHE_HOME:-$HOME/.cache}/mdevrun,
# outside the checkout, so a fresh clone -- every CI run -- reuses what an earlier one built; every
# entry is keyed by what it was built from, so checkouts at different commits share it safely):
#   debs/                      downloaded .deb files (apt-get download)
#   kernel/<pkg>_<ver>/        dpkg -x of the kernel image package (+ modules.dep)
#   guest-kernel/              tests/guest/build-kernel.sh output (the guest's own small kernel)
#   guest/                     tests/guest/build-guest.sh output
#   e2e/                       tests/e2e/build-image.sh output

MDEVRUN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -n "${MDEVRUN_CACHE:-}" ]; then CACHE=$MDEVRUN_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then CACHE=$XDG_CACHE_HOME/mdevrun
elif [ -n "${HOME:-}" ]; then CACHE=$HOME/.cache/mdevrun
else CACHE=$MDEVRUN_ROOT/.cache; fi

log() { printf '[%s] %s\n' "${LOG_TAG:-mdevrun-test}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The cache holds kernels, modules and images that are booted as root: it must be ours and
# writable by nobody else (a file planted there by another user would run in the test VMs).
mkdir -p "$CACHE" || die "cannot create the cache directory $CACHE (set MDEVRUN_CACHE)"
[ -O "$CACHE" ] || die "cache directory $CACHE is not owned by $(id -un) (set MDEVRUN_CACHE)"
case "$(stat -c %A "$CACHE")" in
    ?????w????|????????w?) die "cache directory $CACHE is writable by others: chmod go-w it" ;;
esac

# cache_lock NAME: hold $CACHE/NAME.lock (flock) until this shell exits, so that two checkouts
# sharing the cache never build or use the same entry at once. A child script of the holder
# inherits the lock (the variable says so) instead of waiting for its own parent.
cache_lock() {
    local fd var=MDEVRUN_CACHE_LOCK_$1
    [ -z "${!var:-}" ] || return 0
    exec {fd}>"$CACHE/$1.lock"
    if ! flock -n "$fd"; then
        log "waiting for $CACHE/$1.lock (another build or test run uses it)"
        flock "$fd"
    fi
    export "$var=$$"
}

# ensure_pkgs PKG...: install Debian packages that are not installed yet.
# Idempotent and quiet; runs `apt-get update` only when a package is unknown
# to apt (fresh CI containers ship without package lists).
ensure_pkgs() {
    local missing=() p installed
    # One dpkg-query for all packages (each process start counts on a busy box).
    installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null \
        | awk '/ install ok installed$/ {printf "%s ", $1}')"
    for p in "$@"; do
        [[ $installed == *" $p "* ]] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# acache ARGS...: apt-cache with a binary package cache kept in $CACHE/apt.
# Debian container images disable apt's pkgcache.bin, which makes every
# apt-cache call re-parse all package lists (~1 s each); with a cache file it
# takes ~50 ms, and apt revalidates it against the lists automatically.
acache() {
    mkdir -p "$CACHE/apt"
    apt-cache -o Dir::Cache::pkgcache="$CACHE/apt/pkgcache.bin" \
              -o Dir::Cache::srcpkgcache="$CACHE/apt/srcpkgcache.bin" "$@"
}

# pkg_version PKG: candidate version of PKG from the apt cache (no network).
pkg_version() {
    local v
    v=$(acache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
        apt-get update -qq
        v=$(acache policy "$1" | awk '/Candidate:/ {print $2}')
    fi
    [ -n "$v" ] && [ "$v" != "(none)" ] || die "package $1 not available from apt"
    echo "$v"
}

# kernel_pkg: the versioned image package linux-image-amd64 currently depends
# on, e.g. linux-image-6.1.0-56-amd64. Override with MDEVRUN_KERNEL_PKG.
kernel_pkg() {
    if [ -n "${MDEVRUN_KERNEL_PKG:-}" ]; then echo "$MDEVRUN_KERNEL_PKG"; return; fi
    local p
    p=$(acache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$p" ]; then    # no package lists yet (fresh container)
        apt-get update -qq
        p=$(acache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$p" ] || die "cannot resolve the kernel package behind linux-image-amd64"
    echo "$p"
}

# fetch_deb PKG VERSION: print the path of PKG_VERSION_*.deb in $CACHE/debs,
# downloading it with `apt-get download` if it is not there yet.
fetch_deb() {
    local pkg=$1 ver=$2 dir=$CACHE/debs f
    mkdir -p "$dir"
    # Debian file names encode the epoch colon as %3a.
    f=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$f" ]; then
        log "apt-get download $pkg=$ver"
        # Sandbox user root: _apt cannot write into a root-owned cache dir.
        (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null)
        f=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb | head -n1)
    fi
    echo "$f"
}

# extract_deb DEB DEST: dpkg -x DEB into DEST once (DEST/.extracted marks it done).
extract_deb() {
    local deb=$1 dest=$2
    [ -e "$dest/.extracted" ] && return 0
    log "dpkg -x $(basename "$deb")"
    rm -rf "$dest"; mkdir -p "$dest"
    dpkg -x "$deb" "$dest"
    touch "$dest/.extracted"
}

# kernel_version: set KPKG (the image package) and KPKG_VER (its version), and export
# MDEVRUN_KERNEL_PKG/_VER so child scripts skip the (slowish) apt-cache lookups. Nothing is
# downloaded.
kernel_version() {
    KPKG=$(kernel_pkg)
    if [ "${MDEVRUN_KERNEL_PKG:-}" = "$KPKG" ] && [ -n "${MDEVRUN_KERNEL_VER:-}" ]; then
        KPKG_VER=$MDEVRUN_KERNEL_VER
    else
        KPKG_VER=$(pkg_version "$KPKG")
    fi
    export MDEVRUN_KERNEL_PKG=$KPKG MDEVRUN_KERNEL_VER=$KPKG_VER
}

# source_pkg: the source package of the image package's series, e.g. linux-source-6.1 for
# linux-image-6.1.0-57-amd64 (after kernel_version). Fetched at $KPKG_VER: the same sources.
source_pkg() {
    local series
    series=$(sed -n 's/^linux-image-\([0-9]*\.[0-9]*\)\..*/\1/p' <<<"$KPKG")
    [ -n "$series" ] || die "cannot tell the kernel series of $KPKG"
    echo "linux-source-$series"
}

# kernel_tree: extract the kernel image package into $CACHE/kernel/<pkg>_<ver>
# and generate modules.dep there (the .deb does not ship it; its postinst runs
# depmod). Sets KPKG, KPKG_VER (kernel_version), KTREE, KVER (uname -r), KMODDIR.
kernel_tree() {
    kernel_version
    KTREE=$CACHE/kernel/${KPKG}_${KPKG_VER}
    if [ ! -e "$KTREE/.extracted" ]; then
        extract_deb "$(fetch_deb "$KPKG" "$KPKG_VER")" "$KTREE"
    fi
    KVER=$(ls "$KTREE/lib/modules" | head -n1)
    KMODDIR=$KTREE/lib/modules/$KVER
    if [ ! -s "$KMODDIR/modules.dep" ]; then
        # busybox depmod (symbol based, same result as kmod's) avoids needing kmod.
        busybox depmod -b "$KTREE" "$KVER"
    fi
}

# mod_closure NAME...: print the .ko paths (relative to $KMODDIR) needed to load
# the given modules, dependencies first, each once. Reads $KMODDIR/modules.dep.
mod_closure() {
    awk -v want="$*" '
        function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", p); gsub(/-/, "_", p); return p }
        function visit(m,   n, i, d) {
            if (m in done) return
            done[m] = 1
            if (!(m in path)) { print "mod_closure: unknown module " m > "/dev/stderr"; exit 1 }
            n = split(deps[m], d, " ")
            for (i = n; i >= 1; i--) visit(base(d[i]))
            print path[m]
        }
        {
            p = $1; sub(/:$/, "", p)
            m = base(p); path[m] = p
            $1 = ""; deps[m] = $0
        }
        END {
            n = split(want, w, " ")
            for (i = 1; i <= n; i++) { x = w[i]; gsub(/-/, "_", x); visit(x) }
        }' "$KMODDIR/modules.dep"
}

# copy_module REL DEST_DIR: copy one module into DEST_DIR as plain .ko
# (decompressing .ko.xz/.ko.zst if the kernel package ships them compressed,
# so busybox insmod can load it without in-kernel decompression support).
copy_module() {
    local rel=$1 dest=$2 name
    name=$(basename "$rel"); name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
    case "$rel" in
        *.xz)  xz -dc "$KMODDIR/$rel" >"$dest/$name" ;;
        *.zst) zstd -qdc "$KMODDIR/$rel" >"$dest/$name" ;;
        *.gz)  gzip -dc "$KMODDIR/$rel" >"$dest/$name" ;;
        *)     cp "$KMODDIR/$rel" "$dest/$name" ;;
    esac
    echo "$name"
}

# is_elf FILE: FILE starts with the ELF magic.
is_elf() { [ "$(head -c4 "$1" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; }

# has_pvh_note VMLINUX: the ELF carries XEN_ELFNOTE_PHYS32_ENTRY (note type 0x12, CONFIG_PVH=y),
# which qemu -kernel needs to boot an uncompressed vmlinux through its PVH entry.
has_pvh_note() {
    readelf -n "$1" 2>/dev/null | grep -q 'note type: (0x00000012)\|PHYS32_ENTRY'
}

# debian_vmlinux: print the path of Debian's kernel as an uncompressed, PVH-bootable ELF (after
# kernel_tree), extracted once into $KTREE/vmlinux; its bzImage when it has no PVH entry note.
# PVH skips the bzImage real-mode setup and the decompression, both slow under TCG.
debian_vmlinux() {
    local vmlinuz=$KTREE/boot/vmlinuz-$KVER out=$KTREE/vmlinux off found=0
    if [ -e "$out" ]; then echo "$out"; return 0; fi
    # Debian's bzImage carries an xz-compressed vmlinux. Find the xz stream magic
    # (FD 37 7A 58 5A 00; bash strings cannot hold the NUL, so FD 37 7A 58 5A is
    # matched) and decompress from there. xz exits non-zero because of the trailing
    # data after the stream, so success is judged by the result being ELF; a false
    # magic hit just moves on to the next candidate offset.
    for off in $(LC_ALL=C grep -abo $'\xfd7zXZ' "$vmlinuz" | cut -d: -f1); do
        tail -c +$((off + 1)) "$vmlinuz" | xz -dcq >"$out.tmp" 2>/dev/null || true
        if is_elf "$out.tmp"; then found=1; break; fi
    done
    [ $found = 1 ] || die "no xz-compressed ELF vmlinux found in $vmlinuz"
    if has_pvh_note "$out.tmp"; then
        mv "$out.tmp" "$out"
        echo "$out"
    else
        log "WARNING: $vmlinuz has no PVH entry note; using the bzImage"
        rm -f "$out.tmp"
        echo "$vmlinuz"
    fi
}

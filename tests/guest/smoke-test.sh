#!/bin/bash
# Developer check for tests/guest/build-guest.sh: builds (or reuses) the guest,
# boots it under qemu TCG/q35 and drives it over QMP (tests/guest/smoke.py):
# boot-to-ready, PCI hot-plug, ACPI hot-unplug (DEVICE_DELETED), system_powerdown.
#
# Usage: tests/guest/smoke-test.sh [vmlinux|vmlinuz]   (default vmlinux, PVH boot)
# Exits non-zero on failure; prints a RESULT line with timings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
LOG_TAG=guest-smoke

ensure_pkgs qemu-system-x86 python3

gdir=$("$here/build-guest.sh" | tail -n1)
# /usr/bin/python3 on purpose: a pyenv/venv python on PATH is not needed here.
exec /usr/bin/python3 "$here/smoke.py" "$gdir" "${1:-vmlinux}"

#!/usr/bin/env bash
# qemu 7.2 itself accepts the argv mdevrun builds: every disk interface, snapshot, user network
# with hostfwd, a serial file, USB and a PCI device on its own slot, with commas in file names.
# The VM starts paused (-S) and must reach the point where its QMP socket answers.
set -uo pipefail
mdevrun=$1
src=$2
tmp=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cp "$src/tests/cli/profiles/every-option.json" "$tmp/"
qemu-img create -q -f qcow2 "$tmp/a,b.qcow2" 16M
export MDEVRUN_RUNTIME_DIR=$tmp/run
mkdir -p "$tmp/run/every-option"
mapfile -t argv < <("$mdevrun" start --dry-run --json "$tmp/every-option.json" |
  /usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
"${argv[@]}" -S 2>"$tmp/qemu.err" &
pid=$!
for _ in $(seq 100); do
  [ -S "$tmp/run/every-option/qmp-cli.sock" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if kill -0 $pid 2>/dev/null && [ -S "$tmp/run/every-option/qmp-cli.sock" ] && [ -e "$tmp/ser,ial.log" ]; then
  echo "1 passed, 0 failed"
else
  echo "qemu rejected the argv: $(cat "$tmp/qemu.err")"
  echo "0 passed, 1 failed"
  exit 1
fi

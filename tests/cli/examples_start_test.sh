#!/usr/bin/env bash
# Every example profile (profiles/**/*.json) gives an argv qemu 7.2 starts, and a display a viewer
# can attach to (or, by intent, none). Each example runs with its exact argv through
# tests/support/qemu-on-a-ci-host (what a CI host lacks: KVM, a bridge, a render node, vfio), paused
# (-S), until its QMP monitor answers query-status. Needs the guest's kernel for the dev family's
# -kernel (fixture "guest").
set -uo pipefail
mdevrun=$1
src=$2
guest=${MDEVRUN_GUEST_DIR:?set by ctest: the guest image directory}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

cp -r "$src/profiles" "$tmp/profiles"
export MDEVRUN_RUNTIME_DIR=$tmp/run MDEVRUN_SYSFS_ROOT=$tmp/sys MDEVRUN_STATE_DIR=$tmp/state
# The files the examples name, created where they name them (relative to the profile).
mkdir -p "$tmp/profiles/dev/images"
for f in disk.qcow2 compute.qcow2 workstation.qcow2 desktop.qcow2 games.qcow2 win11.qcow2 \
    dev/images/rootfs.qcow2; do
  qemu-img create -q -f qcow2 "$tmp/profiles/$f" 64M
done
cp "$guest/vmlinux" "$tmp/profiles/dev/images/vmlinuz"
: >"$tmp/profiles/win11.iso"
mkdir -p "$tmp/profiles/dev/workspace" "$tmp/profiles/dev/reference"
cp "$guest/initramfs.cpio.gz" "$tmp/profiles/dev/images/initrd.img"

# gtk needs an X server: one Xvfb for the run.
xdisplay=":$((600 + $$ % 300))"
Xvfb "$xdisplay" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "/tmp/.X11-unix/X${xdisplay#:}" ] && break; sleep 0.05; done
export DISPLAY=$xdisplay

viewable='
import json, sys
argv = json.load(open(sys.argv[1]))
pairs = list(zip(argv, argv[1:]))
displays = [v for k, v in pairs if k == "-display"]
viewer = any(k == "-spice" for k, _ in pairs) or any(
    d.split(",")[0].split("=")[0] in ("gtk", "sdl", "spice-app", "dbus", "vnc") for d in displays)
video_drivers = {"VGA", "qxl-vga", "qxl", "virtio-vga", "virtio-vga-gl", "virtio-gpu-pci",
                 "virtio-gpu-gl-pci", "bochs-display", "ramfb", "cirrus-vga"}
devices = [v for k, v in pairs if k == "-device"]
video = any(d.split(",")[0] in video_drivers or (d.startswith("vfio-pci") and "display=on" in d)
            for d in devices)
if displays == ["none"] and "-spice" not in argv:
    print("headless by intent (display none)")
elif not viewer:
    sys.exit("no display a viewer can attach to: " + " ".join(displays))
elif not video:
    sys.exit("a viewer but no video device to show (-nodefaults): add one or an mdev display")
else:
    print("viewable")
'
for profile in $(cd "$tmp/profiles" && ls *.json */*.json | grep -v schema); do
  name=$(/usr/bin/python3 -c 'import sys,re; print(re.search(r"\"name\": *\"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' "$tmp/profiles/$profile")
  if ! "$mdevrun" start --dry-run --json "$tmp/profiles/$profile" >"$tmp/argv.json" 2>"$tmp/err"; then
    bad "$profile: dry run failed: $(cat "$tmp/err")"; continue
  fi
  if why=$(/usr/bin/python3 -c "$viewable" "$tmp/argv.json" 2>&1); then
    ok "$profile: $why"
  else
    bad "$profile: $why"
  fi
  mkdir -p "$tmp/run/$name" "$tmp/state/$name/tpm"
  mapfile -t argv < <(/usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$tmp/argv.json")
  # What `start` does before qemu: the UEFI vars copy (per run, or the profile's kept one for
  # secure boot), and the helpers qemu connects to (swtpm, one virtiofsd per share).
  for a in "${argv[@]}"; do
    case $a in
      if=pflash,*unit=1,file=*) vars=${a##*file=}
        template=/usr/share/OVMF/OVMF_VARS_4M.fd
        [[ " ${argv[*]} " == *property=secure,value=on* ]] && template=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
        mkdir -p "$(dirname "$vars")"; cp "$template" "$vars" ;;
      socket,id=mdevrun-tpm-chr,path=*) sock=${a##*path=}
        swtpm socket --tpm2 --tpmstate "dir=$tmp/state/$name/tpm" --ctrl "type=unixio,path=$sock" &
        pids+=($!); for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done ;;
      socket,id=mdevrun-fs*,path=*) sock=${a##*path=}
        /usr/lib/qemu/virtiofsd "--socket-path=$sock" -o "source=$tmp/profiles" 2>/dev/null &
        pids+=($!); for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done ;;
    esac
  done
  argv[0]=$src/tests/support/qemu-on-a-ci-host
  # The served serial console (the default): qemu connects to the supervisor's serial.sock, so
  # something must listen there, as the supervisor does before it starts qemu.
  serial_sock=$tmp/run/$name/serial.sock
  if grep -q "path=$serial_sock" "$tmp/argv.json"; then
    socat -u "UNIX-LISTEN:$serial_sock" OPEN:/dev/null &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$serial_sock" ] && break; sleep 0.05; done
  fi
  "${argv[@]}" -S 2>"$tmp/qemu.err" &
  pid=$!
  pids+=($pid)
  sock=$tmp/run/$name/qmp-cli.sock
  for _ in $(seq 300); do
    [ -S "$sock" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  reply=$(printf '{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n' |
    timeout 10 socat -t5 - "UNIX-CONNECT:$sock" 2>/dev/null | tail -1)
  if [[ $reply == *'"status": "prelaunch"'* ]]; then
    ok "$profile: qemu starts its argv (paused, QMP answers)"
  else
    bad "$profile: qemu did not start: $(cat "$tmp/qemu.err") $reply"
  fi
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

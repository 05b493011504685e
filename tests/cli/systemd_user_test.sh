#!/usr/bin/env bash
# The user unit under a real systemd user manager, the way the README tells a user to run it:
# `cmake --install`, a profile by name in ~/.config/mdevrun, `systemctl --user enable --now
# mdevrun@NAME` returns once mdevrun reported READY=1 (qemu's monitor answered), `mdevrun status`
# sees the VM, the journal has mdevrun's lines, and `systemctl --user stop` powers the tiny guest
# down through ACPI and leaves no process, socket or runtime folder; the unit does not fail.
#
# systemd runs as a user manager only on a host booted with systemd (it checks /run/systemd/system),
# and a CI container is not: the test re-runs itself in a private mount namespace (unshare -m, as
# root) with its own /run, where it starts systemd-journald and `systemd --user`. Nothing is
# mounted or started outside that namespace and the temp folder.
set -uo pipefail
build=$1
src=$2
guest=${MDEVRUN_GUEST_DIR:?set by ctest: the guest image directory}

if [ -z "${MDEVRUN_SYSTEMD_TEST_NS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "FAIL needs root for unshare -m (a private /run)"; exit 1; }
  MDEVRUN_SYSTEMD_TEST_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

tmp=$(mktemp -d /tmp/mdevrun-sd.XXXXXX)
journald= manager= cg=
cleanup() {
  # The manager stops what still runs (the unit's own orderly stop), then anything of this run
  # that survived is killed: its argv names the temp folder.
  if [ -n "$manager" ]; then
    kill -TERM "$manager" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$manager" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$manager" 2>/dev/null
  fi
  pkill -KILL -f "$tmp" 2>/dev/null
  [ -n "$journald" ] && kill -KILL "$journald" 2>/dev/null
  wait 2>/dev/null
  # The manager's cgroups (its own and the units' below it) are the host's: removed, deepest first.
  [ -n "$cg" ] && [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  umount /run 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit; }

# A private /run (a fresh root may have no /run/systemd to mount on): the host's is untouched.
mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/systemd/system /run/log ||
  { bad "a private /run"; finish; }
# systemd needs a cgroup hierarchy: cgroup2 on /sys/fs/cgroup, or v1's name=systemd below it. A
# chroot (the fresh-root check) has /sys without its cgroup mounts: mount them in this namespace.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
  hierarchy=/sys/fs/cgroup
else
  hierarchy=/sys/fs/cgroup/systemd
  if [ "$(stat -f -c %T "$hierarchy" 2>/dev/null)" != cgroupfs ]; then
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup && mkdir -p "$hierarchy" &&
      mount -t cgroup -o none,name=systemd cgroup "$hierarchy" ||
      { bad "no cgroup hierarchy for systemd, and none could be mounted"; finish; }
  fi
fi
# The manager runs in a cgroup of its own: started in the hierarchy's root, systemd moves every
# process of that cgroup (the host's pid 1 included) into its init.scope.
cg=$hierarchy/mdevrun-systemd-test-$$
mkdir "$cg" || { bad "cannot create the cgroup $cg"; cg=; finish; }
# Volatile: the journal stays in the private /run, never in the host's /var/log/journal.
mkdir -p /run/systemd/journald.conf.d &&
  printf '[Journal]\nStorage=volatile\n' >/run/systemd/journald.conf.d/mdevrun-test.conf
/lib/systemd/systemd-journald >"$tmp/journald.log" 2>&1 &
journald=$!

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { bad "cmake --install: $(cat "$tmp/install.log")"; finish; }

# A user's home: the unit where the user manager finds it, the profile where `start NAME` does.
export XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/xdg
mkdir -p "$XDG_CONFIG_HOME/systemd/user" "$XDG_CONFIG_HOME/mdevrun" "$XDG_RUNTIME_DIR" "$tmp/sys"
chmod 700 "$XDG_RUNTIME_DIR"
cp "$prefix/lib/systemd/user/mdevrun@.service" "$XDG_CONFIG_HOME/systemd/user/"
append=$(cat "$guest/cmdline")
cat >"$XDG_CONFIG_HOME/mdevrun/tg.json" <<EOF
{
  "name": "tg",
  "machine": {"type": "q35", "accel": "tcg", "memory": "256M", "cpus": 1},
  "display": {"backend": "none"},
  "kernel": {"image": "$guest/vmlinux", "initrd": "$guest/initramfs.cpio.gz",
             "append": "$append"}
}
EOF
# What the unit's mdevrun sees: the manager's environment (set below), so the test's instance
# folder, state and (empty) sysfs, never the host's.
export MDEVRUN_RUNTIME_DIR=$tmp/run MDEVRUN_STATE_DIR=$tmp/state MDEVRUN_SYSFS_ROOT=$tmp/sys \
  MDEVRUN_SYSTEM_CONFIG_DIR=$tmp/etc
PATH=$prefix/bin:$PATH

sh -c 'echo $$ >"$1/cgroup.procs" && exec /lib/systemd/systemd --user' _ "$cg" \
  >"$tmp/manager.log" 2>&1 &
manager=$!
for _ in $(seq 100); do
  [ "$(systemctl --user is-system-running 2>/dev/null)" = running ] && break
  sleep 0.1
done
[ "$(systemctl --user is-system-running 2>&1)" = running ] && ok "systemd --user runs" ||
  { bad "systemd --user: $(systemctl --user is-system-running 2>&1); $(cat "$tmp/manager.log")"; finish; }
systemctl --user set-environment MDEVRUN_RUNTIME_DIR="$MDEVRUN_RUNTIME_DIR" \
  MDEVRUN_STATE_DIR="$MDEVRUN_STATE_DIR" MDEVRUN_SYSFS_ROOT="$MDEVRUN_SYSFS_ROOT" \
  MDEVRUN_SYSTEM_CONFIG_DIR="$MDEVRUN_SYSTEM_CONFIG_DIR" XDG_CONFIG_HOME="$XDG_CONFIG_HOME"

# Type=notify: `start` returns only after READY=1, so the VM answers at once.
if timeout 120 systemctl --user enable --now mdevrun@tg >"$tmp/enable.log" 2>&1; then
  ok "systemctl --user enable --now mdevrun@tg"
else
  bad "enable --now: $(cat "$tmp/enable.log"); $(journalctl --no-pager -q -t mdevrun-tg | tail -20)"
  finish
fi
[ -L "$XDG_CONFIG_HOME/systemd/user/default.target.wants/mdevrun@tg.service" ] &&
  ok "enabled for default.target" || bad "no default.target.wants link"
[ "$(systemctl --user is-active mdevrun@tg)" = active ] && ok "the unit is active" ||
  bad "unit state: $(systemctl --user status mdevrun@tg --no-pager 2>&1)"
status=$(mdevrun status tg --json 2>&1)
echo "$status" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["status"]=="running", s' \
  2>/dev/null && ok "mdevrun status sees it running when start returned" || bad "status: $status"
main_pid=$(systemctl --user show -p MainPID --value mdevrun@tg)
echo "$status" | python3 -c "import json,sys; s=json.load(sys.stdin); assert s['supervisor_pid']==$main_pid, s" \
  2>/dev/null && ok "the unit's main process is the supervisor" ||
  bad "MainPID $main_pid vs status $status"

# The guest's ACPI handler is up once it printed its marker on the serial console.
ready=0
for _ in $(seq 1200); do
  mdevrun logs tg 2>/dev/null | grep -q MDEVRUN-GUEST-READY && { ready=1; break; }
  sleep 0.1
done
[ $ready = 1 ] && ok "the guest booted (mdevrun logs tg)" || bad "no guest marker: $(mdevrun logs tg 2>&1 | tail -5)"
qemu_pid=$(pgrep -f "$tmp/run/tg/qmp.sock" | head -1)

if timeout 120 systemctl --user stop mdevrun@tg >"$tmp/stop.log" 2>&1; then
  ok "systemctl --user stop mdevrun@tg"
else
  bad "stop: $(cat "$tmp/stop.log")"
fi
# The unit's lines, by its SyslogIdentifier (journald takes a moment to write what it was sent).
journal=
for _ in $(seq 50); do
  journal=$(journalctl --no-pager -q -o cat -t mdevrun-tg 2>&1)
  echo "$journal" | grep -q "powered down" && break
  sleep 0.1
done
systemctl --user is-failed --quiet mdevrun@tg &&
  bad "the unit failed: $(systemctl --user status mdevrun@tg --no-pager 2>&1); $journal" ||
  ok "the unit stopped without failing"
echo "$journal" | sed 's/^/  journal: /'
echo "$journal" | grep -q "stopped tg: powered down" && ok "the guest powered down (journal)" ||
  bad "no orderly power-down in the journal: $journal"
echo "$journal" | grep -q "tg" && ok "mdevrun's lines are in the journal" || bad "journal: $journal"
[ -n "$qemu_pid" ] && ! kill -0 "$qemu_pid" 2>/dev/null && ok "qemu is gone" ||
  bad "qemu pid '${qemu_pid}' still runs or was never seen"
[ ! -e "$tmp/run/tg" ] && ok "the runtime folder is gone" || bad "left: $(ls -la "$tmp/run/tg")"
pgrep -f "$tmp" >/dev/null && bad "left processes: $(pgrep -af "$tmp")" || ok "no process of the VM left"
[ -z "$(mdevrun list --names 2>&1)" ] && ok "mdevrun list is empty" || bad "list: $(mdevrun list 2>&1)"
finish

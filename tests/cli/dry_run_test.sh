#!/usr/bin/env bash
# Whole-program checks of `start --dry-run` and `check PROFILE`: output, exit codes, and that a
# bad profile touches nothing (no runtime directory, no sysfs write).
set -uo pipefail
mdevrun=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MDEVRUN_RUNTIME_DIR=$tmp/run MDEVRUN_SYSFS_ROOT=$tmp/sys
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

out=$("$mdevrun" start --dry-run "$src/profiles/gvtg-desktop.json" 2>"$tmp/err"); rc=$?
[ $rc -eq 0 ] && ok "dry run exits 0" || bad "dry run exit $rc"
grep -q -- "-nodefaults" <<<"$out" && grep -q -- "-display gtk,gl=on" <<<"$out" &&
  grep -q -- "-device vfio-pci,id=gpu0,sysfsdev=$tmp/sys/bus/mdev/devices/4dd50f26-ec08-11e8-b838-4bc3356865b6,display=on,rombar=0" <<<"$out" &&
  ok "seed line" || bad "seed line: $out"
grep -q "start would fail: no mdev-capable device is registered" "$tmp/err" && ok "says what start would miss" || bad "stderr: $(cat "$tmp/err")"
# The seed profile's disk.qcow2 is not in the source tree: one warning, and the argv all the same.
disk=$(cd "$src/profiles" && pwd)/disk.qcow2
[ "$(grep -c '^mdevrun: warning: ' "$tmp/err")" -eq 1 ] &&
  grep -qF "mdevrun: warning: disks[0].file: $disk: does not exist. Fix: create it (qemu-img create -f qcow2 $disk 20G) or fix \"file\" in " "$tmp/err" &&
  ok "warns about the missing disk" || bad "missing disk: $(cat "$tmp/err")"

# One warning per file qemu could not open; a disk that is there says nothing.
touch "$tmp/root.raw"
printf '{"name": "k", "machine": {"accel": "tcg"}, "disks": [{"file": "root.raw"}, {"file": "data.raw", "snapshot": true}],\n "kernel": {"image": "vmlinuz", "initrd": "initrd.img"}}' > "$tmp/k.json"
kout=$("$mdevrun" start --dry-run "$tmp/k.json" 2>"$tmp/err"); rc=$?
[ $rc -eq 0 ] && grep -q -- "-kernel $tmp/vmlinuz" <<<"$kout" && ok "dry run with missing files still prints argv, exit 0" || bad "missing files: rc $rc: $kout"
[ "$(grep -c '^mdevrun: warning: ' "$tmp/err")" -eq 3 ] &&
  grep -q "^mdevrun: warning: disks\[1\].file: $tmp/data.raw: does not exist" "$tmp/err" &&
  grep -q "^mdevrun: warning: kernel.image: $tmp/vmlinuz: does not exist" "$tmp/err" &&
  grep -q "^mdevrun: warning: kernel.initrd: $tmp/initrd.img: does not exist" "$tmp/err" &&
  ok "one warning per missing file" || bad "warnings: $(cat "$tmp/err")"

json=$("$mdevrun" start --dry-run --json "$src/profiles/gvtg-desktop.json" 2>/dev/null)
/usr/bin/python3 -c 'import json,sys; a=json.loads(sys.argv[1]); assert a[0]=="qemu-system-x86_64" and "-nodefaults" in a' "$json" &&
  ok "--json is a JSON array" || bad "--json: $json"

# The printed command, run through a shell, gives back the same argv.
printf '%s\n' "$out" | sed 's/^/set -- /' > "$tmp/words.sh"
echo '/usr/bin/python3 -c "import json,sys; print(json.dumps(sys.argv[1:]))" "$@"' >> "$tmp/words.sh"
[ "$(bash "$tmp/words.sh")" = "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$json")" ] &&
  ok "shell quoting round-trips" || bad "shell quoting"

printf '{"name": "vm",\n "mdevs": [{"id": "g", "type": "t", "uuid": "nope"}]}' > "$tmp/bad.json"
err=$("$mdevrun" start --dry-run "$tmp/bad.json" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && ok "bad profile exits 2" || bad "bad profile exit $rc"
[ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "bad.json:2: /mdevs/0/uuid: \"nope\" is not a UUID" <<<"$err" &&
  ok "one-line error with file, line, pointer" || bad "error text: $err"
"$mdevrun" start "$tmp/bad.json" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/run" ] && [ ! -e "$tmp/sys" ] && ok "bad profile touches nothing" || bad "start on bad profile: rc $rc, $(ls "$tmp")"

out=$("$mdevrun" check "$src/profiles/gvtg-desktop.json"); rc=$?
# 0: nothing failed; 1: a host check failed (a CI machine has no GVT-g): either way the profile passed.
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && grep -q '^PASS  profile: .*gvtg-desktop.json is valid' <<<"$out" &&
  ok "check accepts the seed profile" || bad "check exit $rc: $out"
"$mdevrun" check "$tmp/bad.json" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "check rejects a bad profile with 2" || bad "check exit $rc"
"$mdevrun" start --no-such-flag >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "unknown flag exits 2" || bad "unknown flag exit $rc"
# Usage errors are one prefixed line that says what was typed (regression: CLI11's two lines).
for args in "strat x" "" "--bogus"; do
  err=$("$mdevrun" $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == "mdevrun: "* ]] &&
    ok "usage error for '$args' is one line, exit 2" || bad "'$args': rc $rc: $err"
done
err=$("$mdevrun" strat x 2>&1)
grep -q 'unknown command "strat" (did you mean "start"?)' <<<"$err" &&
  ok "unknown command suggests the near one" || bad "strat: $err"
"$mdevrun" help | grep -q 'Subcommands:' && "$mdevrun" help start | grep -q -- '--dry-run' &&
  ok "help and help COMMAND print help, exit 0" || bad "help: $("$mdevrun" help 2>&1 | head -3)"
"$mdevrun" --version | grep -q '^mdevrun [0-9]' && ok "--version" || bad "--version"

# Seconds must be finite and in range: a negative or NaN timeout is a usage error before anything
# happens (regression: --start-timeout -5 created the mdev, then exited 5).
for args in "start --start-timeout -5 $tmp/k.json" "start --start-timeout nan $tmp/k.json" \
    "stop --timeout nan vm" "stop --timeout -1 vm" "unplug vm --timeout -1" \
    "qmp --timeout nan --socket $tmp/none query-status" "events --timeout inf --socket $tmp/none"; do
  err=$("$mdevrun" $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [ ! -e "$tmp/run" ] &&
    ok "'${args%% *} ... ${args#* }' refuses the number, exit 2" || bad "'$args': rc $rc: $err"
done

# A profile that is not a regular file is refused at once (regression: a FIFO hung check/start).
mkfifo "$tmp/fifo.json"
printf '{"extends": "fifo.json", "name": "f"}' > "$tmp/extends-fifo.json"
for args in "check $tmp/fifo.json" "start --dry-run $tmp/fifo.json" "start $tmp/extends-fifo.json"; do
  err=$(timeout 20 "$mdevrun" $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && grep -q "fifo.json is not a regular file (a FIFO)" <<<"$err" &&
    ok "'${args%% *}' refuses a FIFO profile" || bad "'$args': rc $rc: $err"
done
[ ! -e "$tmp/run" ] && ok "refused profiles touch nothing" || bad "runtime dir made"
err=$("$mdevrun" check "$tmp" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && grep -q "is not a regular file (a directory)" <<<"$err" &&
  ok "a directory as profile is refused" || bad "directory: rc $rc: $err"

# extends depth is bounded (regression: a chain of 10 000 files overflowed the stack).
mkdir "$tmp/chain"
printf '{"name": "c"}' > "$tmp/chain/p0.json"
for i in $(seq 1 200); do printf '{"extends": "p%d.json"}' $((i - 1)) > "$tmp/chain/p$i.json"; done
err=$("$mdevrun" start --dry-run "$tmp/chain/p64.json" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && ok "an extends chain of 64 bases loads" || bad "64 bases: rc $rc: $err"
err=$("$mdevrun" start --dry-run "$tmp/chain/p200.json" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "extends chain has more than 64 bases" <<<"$err" &&
  ok "a deeper extends chain is a usage error" || bad "200 bases: rc $rc: $err"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

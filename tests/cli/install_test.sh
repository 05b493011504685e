#!/usr/bin/env bash
# `cmake --install` gives a working layout: PREFIX/bin/mdevrun, and PREFIX/share/mdevrun with the
# schema and every example profile, which the installed binary loads and plans (dry run) from there;
# the man page and bash/zsh/fish completions; the systemd template units (system and user), which
# `systemd-analyze verify` accepts and whose ExecStart is the installed binary.
set -uo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

if cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/log" 2>&1; then ok "cmake --install"
else bad "cmake --install: $(cat "$tmp/log")"; fi
PATH=$tmp/prefix/bin:$PATH
[ "$(command -v mdevrun)" = "$tmp/prefix/bin/mdevrun" ] && mdevrun --version | grep -q '^mdevrun ' &&
  ok "bin/mdevrun on PATH" || bad "bin/mdevrun missing"
share=$tmp/prefix/share/mdevrun
[ -r "$share/profile.schema.json" ] && ok "share/mdevrun/profile.schema.json" || bad "no schema"
export MDEVRUN_RUNTIME_DIR=$tmp/run MDEVRUN_SYSFS_ROOT=$tmp/sys
for p in $(cd "$src/profiles" && ls *.json */*.json | grep -v schema); do
  if [ -r "$share/$p" ] && mdevrun start --dry-run "$share/$p" >/dev/null 2>"$tmp/err"; then
    ok "example $p installed and plans"
  else
    bad "example $p: $(cat "$tmp/err" 2>/dev/null)"
  fi
done
# The Quick start, as the README writes it, with the installed binary.
mdevrun check "$share/gvtg-desktop.json" >/dev/null; rc=$?
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && ok "mdevrun check on an installed example" || bad "check: rc $rc"

# Man page and completions where man, bash-completion, zsh and fish look.
for f in share/man/man1/mdevrun.1 share/bash-completion/completions/mdevrun \
         share/zsh/site-functions/_mdevrun share/fish/vendor_completions.d/mdevrun.fish; do
  [ -s "$tmp/prefix/$f" ] && ok "$f installed" || bad "$f missing"
done

# The systemd units: installed, pointing at this prefix's binary, and clean for systemd-analyze
# (which returns 0 on parse warnings, so its stderr must be empty too). It checks that the
# Documentation= man page exists: MANPATH points at the installed one.
for kind in system user; do
  unit=$tmp/prefix/lib/systemd/$kind/mdevrun@.service
  if [ ! -r "$unit" ]; then bad "lib/systemd/$kind/mdevrun@.service missing"; continue; fi
  grep -qx "ExecStart=$tmp/prefix/bin/mdevrun start %i" "$unit" &&
    ok "$kind unit runs the installed binary" || bad "$kind unit ExecStart: $(grep ExecStart "$unit")"
  grep -qx "Type=notify" "$unit" && ok "$kind unit is Type=notify" || bad "$kind unit not Type=notify"
  if command -v systemd-analyze >/dev/null; then
    mkdir -p "$tmp/xdg-run" && chmod 700 "$tmp/xdg-run"
    flag=; [ $kind = user ] && flag=--user
    if XDG_RUNTIME_DIR=$tmp/xdg-run MANPATH=$tmp/prefix/share/man \
         systemd-analyze $flag verify "$unit" >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]; then
      ok "systemd-analyze $flag verify $kind unit"
    else
      bad "systemd-analyze $flag verify $kind unit: $(cat "$tmp/verify")"
    fi
  fi
done

# Profiles by name with the installed binary: the user's folder first, then the system's.
mkdir -p "$tmp/cfg/mdevrun" "$tmp/etc-mdevrun"
cp "$share/gvtg-desktop.json" "$tmp/cfg/mdevrun/desk.json"
sed 's/"name": *"[^"]*"/"name": "sysvm"/' "$share/gvtg-desktop.json" >"$tmp/etc-mdevrun/sysvm.json"
export XDG_CONFIG_HOME=$tmp/cfg MDEVRUN_SYSTEM_CONFIG_DIR=$tmp/etc-mdevrun
mdevrun start --dry-run desk >/dev/null 2>"$tmp/err" && ok "start --dry-run NAME (user folder)" ||
  bad "start --dry-run desk: $(cat "$tmp/err")"
mdevrun start --dry-run sysvm >/dev/null 2>"$tmp/err" && ok "start --dry-run NAME (system folder)" ||
  bad "start --dry-run sysvm: $(cat "$tmp/err")"
mdevrun start --dry-run nope >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 12 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "$tmp/cfg/mdevrun/nope.json" "$tmp/err" &&
  grep -q "$tmp/etc-mdevrun/nope.json" "$tmp/err" && ok "an unknown NAME: one line, where it looked, exit 12" ||
  bad "unknown NAME: rc $rc: $(cat "$tmp/err")"
mdevrun start --dry-run ../etc >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "a name with '..' is a usage error" || bad "'../etc': rc $rc"
chmod g+w "$tmp/cfg/mdevrun/desk.json"
mdevrun check desk >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 13 ] && grep -q "writable by other users" "$tmp/err" && ok "a group-writable profile is refused" ||
  bad "group-writable profile: rc $rc: $(cat "$tmp/err")"
chmod g-w "$tmp/cfg/mdevrun/desk.json"
out=$(mdevrun list --all 2>&1)
echo "$out" | grep -q '^desk .*stopped' && echo "$out" | grep -q '^sysvm .*stopped' &&
  ok "list --all shows the defined profiles" || bad "list --all: $out"
[ "$(mdevrun list --all --names)" = "$(printf 'desk\nsysvm')" ] && ok "list --all --names" ||
  bad "list --all --names: $(mdevrun list --all --names 2>&1)"
mdevrun list --all --json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert [x["name"] for x in r]==["desk","sysvm"] and not any(x["running"] for x in r) and all(x["defined"] for x in r)' &&
  ok "list --all --json" || bad "list --all --json: $(mdevrun list --all --json 2>&1)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

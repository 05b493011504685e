#!/usr/bin/env bash
# `cmake --install` gives a working layout: PREFIX/bin/mdevrun, and PREFIX/share/mdevrun with the
# schema and every example profile, which the installed binary loads and plans (dry run) from there.
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
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

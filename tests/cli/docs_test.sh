#!/usr/bin/env bash
# The man page and every shell completion cover every subcommand the CLI defines (its own list,
# `mdevrun __generate commands`), so a new subcommand without coverage fails here; the built files
# are what the binary generates now; the man page renders without warnings; bash, zsh and fish
# each complete commands, options, running instances and profiles by name when run.
set -uo pipefail
mdevrun=$1
docs=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

commands=$("$mdevrun" __generate commands)
[ "$(echo "$commands" | wc -l)" -ge 10 ] && ok "the CLI lists its commands" || bad "commands: $commands"

# covers FILE PATTERN: every command has a PATTERN line (@ stands for the command).
covers() {
  local file=$1 pattern=$2 missing=
  for c in $commands; do grep -qF -- "${pattern//@/$c}" "$file" || missing+=" $c"; done
  [ -z "$missing" ] || { echo "  $file lacks:$missing"; return 1; }
}
covers "$docs/mdevrun.1" '.SS "mdevrun @' && ok "man page covers every command" || bad "man page"
covers "$docs/mdevrun.bash" '    @) opts=' && ok "bash covers every command" || bad "bash"
covers "$docs/_mdevrun" "    '@:" && ok "zsh lists every command" || bad "zsh list"
covers "$docs/_mdevrun" "    @)" && ok "zsh completes every command's arguments" || bad "zsh args"
covers "$docs/mdevrun.fish" " -a @ -d " && ok "fish covers every command" || bad "fish"
# The check itself catches a command without coverage.
grep -v '^    stop) opts=' "$docs/mdevrun.bash" >"$tmp/doctored"
covers "$tmp/doctored" '    @) opts=' >/dev/null && bad "coverage check missed a command" ||
  ok "coverage check catches a missing command"
# Every option of every command is in the man page (start's, as a sample of the mechanism).
for o in --dry-run --detach --start-timeout; do
  grep -qF -- "\\fB\\-\\-${o#--}" "$docs/mdevrun.1" || grep -qF -- "${o//-/\\-}" "$docs/mdevrun.1" ||
    bad "man page lacks $o"
done

# The exit codes: the man page's come from the CLI's own list; the README's table has the same codes.
readme=$(dirname "$0")/../../README.md
want=$("$mdevrun" __generate exit-codes | cut -d' ' -f1 | tr '\n' ' ')
have=$(sed -n '/^## Exit codes/,/^## /p' "$readme" | sed -n 's/^| \([0-9][0-9]*\) |.*/\1/p' | tr '\n' ' ')
[ -n "$want" ] && [ "$want" = "$have" ] && ok "README's exit codes are the CLI's ($want)" ||
  bad "exit codes: CLI '$want', README '$have'"
"$mdevrun" __generate exit-codes | while read -r code meaning; do
  grep -qxF -- "$code" "$docs/mdevrun.1" || echo "man page lacks exit code $code"
done | grep . && bad "man EXIT STATUS" || ok "man page lists every exit code"

# Fresh: the installed files are what this binary generates.
for what in man:mdevrun.1 bash:mdevrun.bash zsh:_mdevrun fish:mdevrun.fish; do
  "$mdevrun" __generate "${what%%:*}" | cmp -s - "$docs/${what#*:}" && ok "${what#*:} is up to date" ||
    bad "${what#*:} differs from \`mdevrun __generate ${what%%:*}\`"
done

if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$docs/mdevrun.1" >"$tmp/man.txt" 2>"$tmp/man.err"
  [ ! -s "$tmp/man.err" ] && grep -q "PROFILES BY NAME" "$tmp/man.txt" &&
    ok "man --warnings -l renders cleanly" || bad "man: $(cat "$tmp/man.err")"
fi
if command -v groff >/dev/null; then
  groff -man -ww -z "$docs/mdevrun.1" 2>"$tmp/groff.err" && [ ! -s "$tmp/groff.err" ] &&
    ok "groff -man -ww: no warnings" || bad "groff: $(cat "$tmp/groff.err")"
fi
bash -n "$docs/mdevrun.bash" && ok "bash completion parses" || bad "bash -n"
# scripts/deps installs both shells: a missing one is a failure, not a skip.
zsh -n "$docs/_mdevrun" && ok "zsh -n" || bad "zsh -n"
fish -n "$docs/mdevrun.fish" && ok "fish -n" || bad "fish -n"

# bash completion, run: `mdevrun` is the binary under test (the dynamic parts call it).
mkdir -p "$tmp/bin" "$tmp/cfg/mdevrun" "$tmp/run"
ln -s "$(realpath "$mdevrun")" "$tmp/bin/mdevrun"
echo '{}' >"$tmp/cfg/mdevrun/my-vm.json"
complete_words() {  # the words typed, the last one being completed
  PATH=$tmp/bin:$PATH XDG_CONFIG_HOME=$tmp/cfg MDEVRUN_SYSTEM_CONFIG_DIR=$tmp/none \
    MDEVRUN_RUNTIME_DIR=$tmp/run bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mdevrun
    printf "%s\n" "${COMPREPLY[@]}"' _ "$docs/mdevrun.bash" "$@"
}
got=$(complete_words mdevrun st | sort | tr '\n' ' ')
[ "$got" = "start status stop " ] && ok "bash: commands" || bad "bash 'st': $got"
complete_words mdevrun list --a | grep -qx -- --all && ok "bash: options" || bad "bash list --a"
complete_words mdevrun start my | grep -qx my-vm && ok "bash: profile names" ||
  bad "bash start my: $(complete_words mdevrun start my)"
complete_words mdevrun start --start-timeout 3 my | grep -qx my-vm &&
  ok "bash: a value of an option is not the positional" || bad "bash start --start-timeout 3 my"
[ -z "$(complete_words mdevrun start my-vm '')" ] || [ "$(complete_words mdevrun start my-vm '' | grep -c my-vm)" -eq 0 ] &&
  ok "bash: nothing after the one PROFILE" || bad "bash: second positional of start"
# A running instance is a folder whose lock a supervisor holds: flock(1) stands in for it.
mkdir -p "$tmp/run/locks" "$tmp/run/busy-vm" && chmod 700 "$tmp/run" "$tmp/run/locks" "$tmp/run/busy-vm"
# The holder is one process (exec): killing it drops the lock, and no orphaned `sleep` keeps the
# test's output open (ctest waited 60 s for one).
(exec 9>"$tmp/run/locks/instance-busy-vm.lock" && flock 9 && exec sleep 60) &
holder=$!
for _ in $(seq 100); do flock -n "$tmp/run/locks/instance-busy-vm.lock" true || break; sleep 0.05; done
complete_words mdevrun stop b | grep -qx busy-vm && ok "bash: running instance names" ||
  bad "bash stop b: $(complete_words mdevrun stop b)"
complete_words mdevrun stop my | grep -q . && bad "bash: stop offers a profile that does not run" ||
  ok "bash: stop offers only running instances"

# zsh and fish, run the same way: the shell's own completion engine on a typed line (zsh through
# tests/cli/zsh_complete.zsh on a pseudo-terminal, fish through `complete -C`).
in_test_env() {
  PATH=$tmp/bin:$PATH XDG_CONFIG_HOME=$tmp/cfg MDEVRUN_SYSTEM_CONFIG_DIR=$tmp/none \
    MDEVRUN_RUNTIME_DIR=$tmp/run "$@"
}
zsh_words() { in_test_env timeout 30 "$(dirname "$0")/zsh_complete.zsh" "$docs" "$1"; }
fish_words() {
  in_test_env timeout 30 fish --no-config -c 'source $argv[1]; complete -C $argv[2]' \
    "$docs/mdevrun.fish" "$1" | cut -f1
}
for shell in zsh fish; do
  words=${shell}_words
  got=$($words "mdevrun st" | sort | tr '\n' ' ')
  [ "$got" = "start status stop " ] && ok "$shell: commands" || bad "$shell 'mdevrun st': '$got'"
  $words "mdevrun list --a" | grep -qx -- --all && ok "$shell: options" ||
    bad "$shell 'list --a': $($words "mdevrun list --a" | tr '\n' ' ')"
  $words "mdevrun start my" | grep -qx my-vm && ok "$shell: profile names" ||
    bad "$shell 'start my': $($words "mdevrun start my" | tr '\n' ' ')"
  $words "mdevrun stop b" | grep -qx busy-vm && ok "$shell: running instance names" ||
    bad "$shell 'stop b': $($words "mdevrun stop b" | tr '\n' ' ')"
  $words "mdevrun stop m" | grep -q my-vm && bad "$shell: stop offers a profile that does not run" ||
    ok "$shell: stop offers only running instances"
done
kill "$holder"; wait "$holder" 2>/dev/null
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

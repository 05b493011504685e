#!/usr/bin/env zsh
# zsh_complete.zsh FPATH_DIR 'mdevrun st': prints, one per line, the words zsh's completion
# system offers for the line, with the _mdevrun in FPATH_DIR. zsh completes only inside its line
# editor, so the line is typed, with a Tab, into an interactive `zsh -f` on a pseudo-terminal
# (zsh/zpty) running compinit; compadd is wrapped to print the matches it is given between two
# marker lines, and the inner shell exits after the first completion.
zmodload zsh/zpty || { print -u2 "zsh/zpty is missing"; exit 2 }
dir=$1 buffer=$2
setup=$(mktemp)
trap 'rm -f $setup; zpty -d z 2>/dev/null' EXIT
{
  print -r -- "fpath=(${(q)dir} \$fpath)"
  cat <<'EOF'
PROMPT= RPROMPT=
autoload -Uz compinit && compinit -u -D
bindkey '^M' undefined '^J' undefined '^I' complete-word
zstyle ':completion:*' list-prompt ''
zstyle ':completion:*' menu no
compadd() {
  # The completion system's own queries (-O/-A/-D collect into arrays) pass through.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- ${(q-)__hits}
  builtin compadd "$@"
}
_mdevrun_test_begin() { print -r -- '<<begin>>'; }
_mdevrun_test_end() { print -r -- '<<end>>'; exit 0; }
compprefuncs=(_mdevrun_test_begin)
comppostfuncs=(_mdevrun_test_end)
print -r -- '<<ready>>'
EOF
} >$setup
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
line=
until [[ $line == '<<ready>>'* ]]; do zpty -r z line || exit 3; done
zpty -w -n z "$buffer"$'\t'
until [[ $line == *'<<begin>>'* ]]; do zpty -r z line || exit 3; done
while zpty -r z line; do
  line=${line%$'\r'*}
  [[ $line == '<<end>>'* ]] && exit 0
  print -r -- $line
done
exit 3

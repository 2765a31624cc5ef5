#!/usr/bin/env bash
# Man pages and bash completion from the program's own --help text, so they never drift from
# it (the build runs this after linking backprop: apps/CMakeLists.txt).
#   scripts/man-and-completion.sh BACKPROP OUTDIR
# writes OUTDIR/man1/backprop.1.gz, OUTDIR/man1/backprop-SUBCOMMAND.1.gz (help2man) and
# OUTDIR/completion/backprop (bash).
set -euo pipefail
bin=$(realpath "$1")
out=$2
mkdir -p "$out/man1" "$out/completion"

# The subcommands and their one-line descriptions: the "Subcommands:" section of --help.
mapfile -t lines < <("$bin" --help | sed -n '/^Subcommands:/,/^$/p' | sed '1d;/^$/d')
names=()
for line in "${lines[@]}"; do names+=("$(awk '{print $1}' <<<"$line")"); done

see_also=$(printf 'backprop-%s(1), ' "${names[@]}")
include=$(mktemp)
trap 'rm -f "$include"' EXIT
printf '[SEE ALSO]\n%s\n' "${see_also%, }" >"$include"
help2man --no-info --no-discard-stderr --name="train and use fully connected neural networks" \
  --include="$include" --output="$out/man1/backprop.1" "$bin"
printf '[SEE ALSO]\nbackprop(1)\n' >"$include"
for line in "${lines[@]}"; do
  name=$(awk '{print $1}' <<<"$line")
  summary=$(sed -E 's/^ *[^ ]+ +//' <<<"$line")
  # help2man runs "PROGRAM OPTION": the subcommand's help is "backprop NAME --help".
  help2man --no-info --no-discard-stderr --name="$summary" --help-option="$name --help" \
    --version-option="--version" --include="$include" --output="$out/man1/backprop-$name.1" "$bin"
  # The page is headed and named backprop-NAME rather than backprop.
  sed -i -e "s/^\.TH BACKPROP /.TH BACKPROP-${name^^} /" -e "/^\.SH NAME/{n;s/^backprop /backprop-$name /}" \
    "$out/man1/backprop-$name.1"
done
# Compressed as Debian's policy wants (-n: no time stamp, so rebuilds are identical).
gzip -9nf "$out"/man1/*.1

# Bash completion: the subcommands, then each one's flags (the long options of its --help).
{
  echo "# bash completion for backprop, generated from its --help (scripts/man-and-completion.sh)"
  echo "_backprop() {"
  echo '  local cur=${COMP_WORDS[COMP_CWORD]} sub="" i'
  echo '  for ((i = 1; i < COMP_CWORD; i++)); do'
  echo '    [[ ${COMP_WORDS[i]} != -* ]] && { sub=${COMP_WORDS[i]}; break; }'
  echo '  done'
  echo '  local flags'
  echo '  case $sub in'
  echo "    \"\") COMPREPLY=(\$(compgen -W \"${names[*]} --help --version\" -- \"\$cur\")); return ;;"
  for name in "${names[@]}"; do
    flags=$("$bin" "$name" --help | grep -oE '^ +(-[a-zA-Z],)?--[a-z0-9-]+' | sed -E 's/^ +//; s/^-[a-zA-Z],//' | sort -u | tr '\n' ' ')
    echo "    $name) flags=\"${flags% }\" ;;"
  done
  echo '    *) return ;;'
  echo '  esac'
  echo '  if [[ $cur == -* ]]; then'
  echo '    COMPREPLY=($(compgen -W "$flags" -- "$cur"))'
  echo '  else'
  echo '    COMPREPLY=($(compgen -f -- "$cur"))  # paths: models, data directories, images'
  echo '  fi'
  echo '}'
  echo 'complete -o filenames -F _backprop backprop'
} >"$out/completion/backprop"

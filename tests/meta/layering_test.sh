#!/usr/bin/env bash
# Builds each layering probe (tests/meta/layering.cmake) and checks the outcome: a forbidden
# include must fail with the header not found, an allowed one must compile.
# Usage: layering_test.sh CMAKE BUILD_DIR TARGET:allowed|forbidden:HEADER...
set -uo pipefail
cmake=$1 build=$2
shift 2
failures=0
for probe in "$@"; do
  IFS=: read -r target expect header <<<"$probe"
  out=$("$cmake" --build "$build" --target "$target" 2>&1)
  rc=$?
  if [ "$expect" = allowed ]; then
    if [ $rc -ne 0 ]; then
      echo "FAIL $target: may include $header but did not compile:"; echo "$out" | tail -20
      failures=$((failures + 1))
    else
      echo "ok   $target: $header allowed"
    fi
  elif [ $rc -eq 0 ]; then
    echo "FAIL $target: must not reach $header, but it compiled"
    failures=$((failures + 1))
  elif ! grep -q "$header: No such file or directory" <<<"$out"; then
    echo "FAIL $target: failed, but not because $header is unreachable:"; echo "$out" | tail -20
    failures=$((failures + 1))
  else
    echo "ok   $target: $header unreachable"
  fi
done
echo "$# probes, $failures failures"
[ $failures -eq 0 ]

#!/bin/sh
# Every C++ file the project tracks is formatted as .clang-format says (clang-format 14).
# Usage: clang_format_test.sh SOURCE_DIR
cd "$1" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
else
  files=$(find launcher qmp tests -name '*.cpp' -o -name '*.hpp')
fi
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files || {
  echo "clang_format_test: run clang-format -i on the files above" >&2
  exit 1
}
echo "clang_format_test: $(echo "$files" | wc -l) files formatted"

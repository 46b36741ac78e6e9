#!/bin/sh
# lint.sh — luacheck (.luacheckrc), cppcheck and clang-format (.clang-format)
# over the sources; prints one TAP line for each and fails if any complains.
cd "$(dirname "$0")/.." || exit 1
n=0 failed=0
check() {  # check NAME COMMAND…
  name=$1
  shift
  n=$((n + 1))
  if out=$("$@" 2>&1); then
    echo "ok $n - $name"
  else
    failed=1
    echo "$out" | sed 's/^/# /'
    echo "not ok $n - $name"
  fi
}
c_files=$(ls core/*.c core/*.h spec/c/*.c spec/fuzz/*.c spec/fuzz/*.h)
check "luacheck lua scripts spec" luacheck --no-color -q lua scripts spec
# shellcheck disable=SC2086
check "cppcheck core spec/c spec/fuzz" cppcheck --enable=warning,style,performance,portability \
  --error-exitcode=1 --inline-suppr -q --std=c11 -I core $c_files
# shellcheck disable=SC2086
check "clang-format leaves the C sources as they are" clang-format --dry-run -Werror $c_files
echo "1..$n"
exit $failed

#!/bin/sh
# test.sh — the whole test suite: installs missing Debian packages, then
#   1. builds and runs every test through ctest, plus the end-to-end specs
#      inside the animo binary under valgrind memcheck;
#   2. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs every test against that build;
#   3. builds the libFuzzer targets with clang and runs each for
#      ANIMO_FUZZ_SECONDS (default 60) from the committed corpora.
# Each test prints TAP; the last line counts the individual tests:
# "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
status=0
logs=""
run_suite() {  # run_suite BUILD_DIR CMAKE_FLAGS…
  dir=$1
  shift
  echo "== $dir: cmake $*"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j2 >/dev/null
  (cd "$dir" && ctest -j2 --output-on-failure) || status=1
  logs="$logs $dir/Testing/Temporary/LastTest.log"
}
run_suite "${ANIMO_BUILD_DIR:-build}" -DANIMO_VALGRIND=ON -DANIMO_SANITIZE=OFF
run_suite "${ANIMO_BUILD_DIR:-build}-asan" -DANIMO_SANITIZE=ON -DANIMO_VALGRIND=OFF
fuzz=${ANIMO_BUILD_DIR:-build}-fuzz
echo "== $fuzz: libFuzzer targets"
CC=clang cmake -S . -B "$fuzz" -DANIMO_FUZZ=ON -DANIMO_FUZZ_SECONDS="${ANIMO_FUZZ_SECONDS:-60}" >/dev/null
cmake --build "$fuzz" -j2 --target fuzz_response fuzz_store >/dev/null
(cd "$fuzz" && ctest -j2 -R '^fuzz_' --output-on-failure) || status=1
logs="$logs $fuzz/Testing/Temporary/LastTest.log"
# shellcheck disable=SC2086
passed=$(cat $logs | grep -E '^ok [0-9]+' | grep -vc '# SKIP' || true)
# shellcheck disable=SC2086
failed=$(cat $logs | grep -Ec '^not ok [0-9]+' || true)
# shellcheck disable=SC2086
skipped=$(cat $logs | grep -E '^ok [0-9]+' | grep -c '# SKIP' || true)
# A test program that died before printing TAP still fails the run.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

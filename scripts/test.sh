#!/bin/sh
# test.sh — the whole test suite: installs missing Debian packages, builds,
# runs every test through ctest (each prints TAP), then prints one line
# "N passed, N failed" counting the individual tests.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${ANIMO_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2
status=0
(cd "$build" && ctest -j2 --output-on-failure) || status=1
log="$build/Testing/Temporary/LastTest.log"
passed=$(grep -E '^ok [0-9]+' "$log" | grep -vc '# SKIP' || true)
failed=$(grep -Ec '^not ok [0-9]+' "$log" || true)
skipped=$(grep -E '^ok [0-9]+' "$log" | grep -c '# SKIP' || true)
# A test program that died before printing TAP still fails the run.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

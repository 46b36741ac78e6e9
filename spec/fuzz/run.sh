#!/bin/sh
# run.sh FUZZER SEEDS SECONDS — runs a libFuzzer target for SECONDS on the
# committed SEEDS (new inputs go to a temp folder, not the repo) and prints
# one TAP line with the executions run.
set -u
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$fuzzer")
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work" "$seeds" > "$work/log" 2>&1
status=$?
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
if [ "$status" -eq 0 ]; then
  echo "ok 1 - $name: ${runs:-?} executions in ${seconds} s, no crash"
else
  tail -40 "$work/log"
  for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
    [ -f "$crash" ] && { echo "# input:"; od -c "$crash" | head -20; }
  done
  echo "not ok 1 - $name: crashed (exit $status)"
fi
echo "1..1"
exit "$status"

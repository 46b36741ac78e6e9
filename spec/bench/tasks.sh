#!/bin/sh
# tasks.sh — runs spec/bench/tasks.lua against a local emulator.
#   sh spec/bench/tasks.sh        (after a build into build/)
set -eu
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'sh scripts/emulator.sh stop "$dir"; rm -rf "$dir"' EXIT INT TERM
eval "$(sh scripts/emulator.sh start "$dir")"
export ANIMO_BASE_URL ANIMO_CA_FILE ANIMO_COMPANY ANIMO_TOKEN ANIMO_STORE
build/animo spec/bench/tasks.lua

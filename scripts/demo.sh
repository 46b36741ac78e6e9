#!/bin/sh
# demo.sh — builds animo, starts the local Animo emulator (real HTTPS with a
# CA made now), runs scripts/demo.lua against it, and stops the emulator.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
dir=$(mktemp -d)
trap 'sh scripts/emulator.sh stop "$dir"; rm -rf "$dir"' EXIT INT TERM
eval "$(sh scripts/emulator.sh start "$dir")"
export ANIMO_BASE_URL ANIMO_CA_FILE ANIMO_COMPANY ANIMO_TOKEN ANIMO_STORE
build/animo scripts/demo.lua

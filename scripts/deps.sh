#!/bin/sh
# deps.sh [build] — installs the Debian 12 packages animo needs, when some
# are missing (as root, or through sudo). Safe to run repeatedly. `build`:
# only what building and the demo need; otherwise also the test suite's tools.
set -eu
packages="cmake make gcc pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev
lua-cjson lua-cjson-dev python3 openssl ca-certificates"
if [ "${1:-}" != build ]; then
  packages="$packages lua-busted strace util-linux valgrind clang libclang-rt-14-dev clang-format
cppcheck lua-check luarocks bsdutils lua-ldoc"
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "animo: missing Debian packages:$missing (run as root or install sudo)" >&2
  exit 1
fi
echo "animo: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

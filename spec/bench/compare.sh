#!/bin/sh
# compare.sh [N] — animo side by side with the floor (a C loop reusing one
# libcurl handle) and with what users would pick instead, against nginx on
# loopback HTTPS answering the three Animo routes with canned bodies, with
# certificate verification on for every client; and the store against the
# disk's own floor (one atomic replace) and against the C loop making that
# replace after each request. Prints figures; asserts nothing; not part of
# the test suite.
#   sh spec/bench/compare.sh          N=2000 rounds of attach+update+detach
# Env: RUNS (3, alternating), N_CMD (30 rounds for one-process-per-request).
# Ends with instruction counts from callgrind, which the machine load does
# not move.
set -eu
cd "$(dirname "$0")/../.."
N=${1:-2000}
RUNS=${RUNS:-3}
N_CMD=${N_CMD:-30}

sh scripts/deps.sh
missing=""
for p in nginx-light python3-requests time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing$missing" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null

dir=$(mktemp -d)
cleanup() { [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
mkdir -p "$dir/body"
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=animo bench CA" -days 1 -out "$dir/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/server.key" 2>/dev/null
openssl req -new -key "$dir/server.key" -subj "/CN=127.0.0.1" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 1 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" spec/bench/nginx.conf > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon on;' 2>/dev/null
base="https://127.0.0.1:$port/api/v1"
i=0
until curl -s --cacert "$dir/ca.pem" -o /dev/null -X DELETE "$base/c9Xk2/webhooks/detach"; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$dir/error.log"; exit 1; }; sleep 0.05
done

cc -O2 -o "$dir/ref" spec/bench/ref.c -lcurl
cc -O2 -o "$dir/floor" spec/bench/floor.c
token="bench-access-token-0123456789"
export ANIMO_BASE_URL="$base" ANIMO_CA_FILE="$dir/ca.pem" ANIMO_COMPANY=c9Xk2 ANIMO_TOKEN="$token"

# curl CLI, one process: a config with every request of the N rounds.
hook='"id":"550e8400-e29b-41d4-a716-446655440000","token":"Zq3Kx8NwLp2Rt6Vy9Bc4Df7Gh1Jk5Mn0Pq8St2Uv"'
awk -v n="$N" -v base="$base" -v hook="$hook" -v token="$token" -v ca="$dir/ca.pem" 'BEGIN {
  h = "cacert = \"" ca "\"\nheader = \"Authorization: Bearer " token "\"\nheader = \"Accept: application/json\"\nheader = \"Content-Type: application/json\"\noutput = /dev/null\n"
  for (i = 0; i < n; i++) {
    printf "url = \"%s/c9Xk2/webhooks/attach\"\nrequest = POST\ndata = \"{\\\"name\\\":\\\"bench\\\",\\\"url\\\":\\\"https://bench.example/hook\\\",\\\"events\\\":[\\\"lead-created\\\"]}\"\n%snext\n", base, h
    printf "url = \"%s/c9Xk2/webhooks/update\"\nrequest = PATCH\ndata = \"{%s,\\\"url\\\":\\\"https://bench.example/v2\\\"}\"\n%snext\n", base, hook, h
    printf "url = \"%s/c9Xk2/webhooks/detach\"\nrequest = DELETE\ndata = \"{%s}\"\n%s", base, hook, h
    if (i < n - 1) printf "next\n"
  }
}' > "$dir/curl.cfg"

# animo commands, one process per request, with the store (update and
# detach find the webhook by name there).
cat > "$dir/commands.sh" <<EOS
i=0
while [ \$i -lt $N_CMD ]; do
  build/animo attach --name bench --url https://bench.example/hook --events lead-created >/dev/null
  build/animo update bench --url https://bench.example/v2 >/dev/null
  build/animo detach bench >/dev/null
  i=\$((i + 1))
done
EOS

# run NAME REQUESTS COMMAND… — one timed run; appends "name requests wall user sys rss" to results
run() {
  name=$1 requests=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@" > /dev/null
  echo "$name $requests $(cat "$dir/time")" >> "$dir/results"
}
: > "$dir/results"
r=0
while [ "$r" -lt "$RUNS" ]; do
  r=$((r + 1))
  # The runs a ratio compares follow each other, so a drift of the machine
  # between iterations does not enter it.
  run c-reference $((3 * N)) "$dir/ref" "$base" "$dir/ca.pem" "$token" "$N"
  run animo-store-off $((3 * N)) env ANIMO_STORE=off build/animo spec/bench/animo_loop.lua "$N"
  rm -rf "$dir/store"
  run animo-store-on $((3 * N)) env ANIMO_STORE="$dir/store/store.json" build/animo spec/bench/animo_loop.lua "$N"
  size=$(stat -c %s "$dir/store/store.json" 2>/dev/null || echo 600)
  run disk-floor-per-write $((3 * N)) "$dir/floor" "$dir" "$size" $((3 * N))
  run c-reference-and-replace $((3 * N)) "$dir/ref" "$base" "$dir/ca.pem" "$token" "$N" "$dir" "$size"
  run curl-cli-one-process $((3 * N)) curl -sf -K "$dir/curl.cfg"
  run python-requests $((3 * N)) /usr/bin/python3 spec/bench/requests_loop.py "$base" "$dir/ca.pem" "$token" "$N"
  rm -rf "$dir/store"
  run animo-commands $((3 * N_CMD)) env ANIMO_STORE="$dir/store/store.json" sh "$dir/commands.sh"
done

echo "N = $N rounds of attach + update + detach (3 requests each); $RUNS runs: medians, and ratios are"
echo "the median of each run's ratio; nginx $(nginx -v 2>&1 | sed 's/.*\///')"
awk '
{
  k = $1; i = ++n[k]; req[k] = $2
  wall[k, i] = $3 * 1000 / $2; cpu[k, i] = ($4 + $5) * 1000 / $2; rss[k, i] = $6  # ms per request, KiB
  if (!(k in order)) { order[k] = ++count; names[count] = k }
}
function median(a, k,   m, i, j, t, v) {
  m = n[k]
  for (i = 1; i <= m; i++) v[i] = a[k, i]
  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
  return v[int((m + 1) / 2)]
}
END {
  ref = "c-reference"; floor = "disk-floor-per-write"
  for (c = 1; c <= count; c++) {
    k = names[c]
    for (i = 1; i <= n[k]; i++) {
      xwall[k, i] = wall[k, i] / wall[ref, i]; xcpu[k, i] = cpu[k, i] / cpu[ref, i]
    }
  }
  for (i = 1; i <= n[ref]; i++) {
    added["store", i] = wall["animo-store-on", i] - wall["animo-store-off", i]
    added["c", i] = wall["c-reference-and-replace", i] - wall[ref, i]
    xfloor["store", i] = added["store", i] / wall[floor, i]
    xfloor["c", i] = added["c", i] / wall[floor, i]
  }
  n["store"] = n["c"] = n[ref]
  printf "%-24s %9s %12s %12s %10s %8s %8s\n", "client", "requests", "ms/request", "CPU ms/req", "max RSS", "x wall", "x CPU"
  for (c = 1; c <= count; c++) {
    k = names[c]
    printf "%-24s %9d %12.4f %12.4f %7.1f MiB", k, req[k], median(wall, k), median(cpu, k), median(rss, k) / 1024
    if (k == floor || k == "c-reference-and-replace") printf " %8s %8s\n", "-", "-"
    else printf " %8.2f %8.2f\n", median(xwall, k), median(xcpu, k)
  }
  printf "\nstore: adds %.3f ms per operation; the disk floor is %.3f ms per atomic replace with fsync\n", median(added, "store"), median(wall, floor)
  printf "       (temp file, write, fsync, rename, fsync of the folder) of a file of the store size: %.2fx\n", median(xfloor, "store")
  printf "       the C reference making that replace after each request adds %.3f ms: %.2fx the floor\n", median(added, "c"), median(xfloor, "c")
}' "$dir/results"

echo
echo "cold start, 200 runs each:"
cat > "$dir/bare.c" <<'EOC'
#include <curl/curl.h>
#include <lauxlib.h>
#include <lualib.h>
int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lua_close(L);
  return 0;
}
EOC
cc -O2 -o "$dir/bare" "$dir/bare.c" $(pkg-config --cflags --libs lua5.4 libcurl)
for cmd in "lua5.4 -e ''" "$dir/bare" "build/animo -e ''" "build/animo -e 'require\"animo\"'"; do
  s=$(date +%s%N)
  i=0
  while [ $i -lt 200 ]; do eval "$cmd"; i=$((i + 1)); done
  e=$(date +%s%N)
  printf "  %-36s %6.2f ms\n" "$(echo "$cmd" | sed "s|$dir/||")" "$(echo "($e - $s) / 200000000" | bc -l)"
done

echo
echo "RSS of one animo process:"
ANIMO_STORE=off BENCH_RSS=1 build/animo spec/bench/animo_loop.lua 10000 | sed 's/^/  /'

# Instruction counts do not vary with the machine's load, so they show what
# a change to animo's own work did even when the timings above are noisy.
if command -v valgrind > /dev/null; then
  echo
  echo "instructions per request (valgrind --tool=callgrind, 300 rounds less 0 rounds):"
  irefs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/refs:/ { gsub(",", "", $NF); print $NF }'; }
  ref_ir=$(( $(irefs "$dir/ref" "$base" "$dir/ca.pem" "$token" 300) - $(irefs "$dir/ref" "$base" "$dir/ca.pem" "$token" 0) ))
  animo_ir=$(( $(ANIMO_STORE=off irefs build/animo spec/bench/animo_loop.lua 300) - $(ANIMO_STORE=off irefs build/animo spec/bench/animo_loop.lua 0) ))
  printf "  %-22s %9d\n  %-22s %9d  (%.2fx)\n" c-reference $((ref_ir / 900)) animo-store-off $((animo_ir / 900)) \
    "$(echo "$animo_ir / $ref_ir" | bc -l)"
fi

#!/bin/sh
# emulator.sh — start or stop the local Animo emulator for trying animo out.
#   eval "$(sh scripts/emulator.sh start DIR)"   starts it in DIR and prints
#        the ANIMO_* settings to export: its URL and CA, a company, an access
#        token, and a token store inside DIR
#   sh scripts/emulator.sh stop DIR
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: emulator.sh start|stop DIR" >&2; exit 2; }
case "$cmd" in
start)
  mkdir -p "$dir"
  rm -f "$dir/ready.json"
  python3 "$root/spec/emulator/animo_emulator.py" --dir "$dir" >"$dir/log" 2>&1 &
  i=0
  while [ ! -s "$dir/ready.json" ]; do
    i=$((i + 1))
    if [ "$i" -gt 200 ]; then cat "$dir/log" >&2; echo "emulator did not start" >&2; exit 1; fi
    sleep 0.05
  done
  python3 - "$dir/ready.json" <<'PY'
import json, ssl, sys, urllib.request
ready = json.load(open(sys.argv[1]))
ctx = ssl.create_default_context(cafile=ready["ca_file"])
req = urllib.request.Request(ready["admin"] + "/reset", data=b"{}", method="POST",
                             headers={"Content-Type": "application/json"})
fixtures = json.load(urllib.request.urlopen(req, context=ctx))
for k, v in (("ANIMO_BASE_URL", ready["base_url"]), ("ANIMO_CA_FILE", ready["ca_file"]),
             ("ANIMO_COMPANY", fixtures["companies"]["pro"]), ("ANIMO_TOKEN", fixtures["tokens"]["full"]),
             ("ANIMO_STORE", ready["ca_file"].rsplit("/", 1)[0] + "/store/store.json")):
    print(f"export {k}='{v}'")
PY
  ;;
stop)
  [ -s "$dir/ready.json" ] || exit 0
  pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$dir/ready.json")
  kill "$pid" 2>/dev/null || true
  ;;
*) echo "usage: emulator.sh start|stop DIR" >&2; exit 2 ;;
esac

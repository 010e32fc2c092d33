#!/usr/bin/env bash
# Writes scripts/link-order.txt: the functions the proxy runs when it starts, fetches a token,
# proxies requests and shuts down, hottest first. scripts/build-release.sh hands the list to the
# linker (--symbol-ordering-file), which lays those functions out next to each other at the start
# of the code instead of scattered over its 13 MB.
#
# Why: the kernel maps a program's code in 64 KiB windows around each page it runs, so the ~1.5 MB
# of code a running proxy uses, spread over 1,000+ pages of the binary, kept about 9.5 MiB of it
# resident (BENCHMARKS.md, "Idle memory"). Packed together, the same code takes what it needs.
# The list only moves code: a function missing from it (new, renamed, or not run here) is laid out
# as before, so a stale list costs memory, never correctness. Re-run after larger changes:
#
#   bench/link-order.sh [BINARY]     (default: .build-static/release/bearer-proxy)
#
# Uses bench/run.sh's certificates and peers (run it once first: it writes bench/out): the TLS
# upstream nginx and the token server are started here; the proxy runs with the shipped defaults
# (access log on) plus the admin endpoint, under `valgrind --tool=callgrind` (the binary copied
# without debug info, which valgrind 3.19 cannot read). Needs valgrind, wrk, nginx, curl, objcopy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here"); out="$here/out"
[ -f "$out/proxy.conf" ] && [ -f "$out/upstream.conf" ] || { echo "link-order.sh: run bench/run.sh once first (it writes bench/out)" >&2; exit 2; }
for tool in valgrind wrk nginx objcopy curl python3; do command -v $tool >/dev/null || { echo "link-order.sh: needs $tool" >&2; exit 2; }; done
bin=${1:-"$root/.build-static/release/bearer-proxy"}
port=${LO_PORT:-18098}; admin=${LO_ADMIN_PORT:-18097}; tok=18444
. "$here/peers.sh"
# The shipped defaults (log level info, access log on, default pool), the admin endpoint on.
sed -e "s/^listen: .*/listen: 127.0.0.1:$port/" -e "s#url: https://localhost:[0-9]*/token#url: https://localhost:$tok/token#" \
    -e "/^admin:/,/^[a-z]/{/^admin:/d;/^  /d}" proxy-log.conf > "$work/proxy.conf"
printf 'admin:\n  listen: 127.0.0.1:%s\n' "$admin" >> "$work/proxy.conf"
objcopy --strip-debug "$bin" "$work/bp"
"$work/bp" check-config --config "$work/proxy.conf" >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --dump-instr=no --compress-strings=no --compress-pos=no --demangle=no \
  "$work/bp" --config "$work/proxy.conf" 2>"$work/valgrind.log" >/dev/null & vg=$!
for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/small" && break; sleep 0.5; done
base="http://127.0.0.1:$port"
# What a sidecar's caller does: keep-alive and new connections, bodies both ways, chunked uploads,
# errors, and what the orchestrator asks the admin endpoint.
wrk -t1 -c8 -d3s "$base/small" >/dev/null
wrk -t1 -c8 -d2s -H 'Connection: close' "$base/small" >/dev/null
for _ in 1 2 3; do
  curl -sf -o /dev/null "$base/large"
  curl -sf -o /dev/null --data-binary @small.txt "$base/upload"
  curl -sf -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @small.txt "$base/upload"
  curl -s -o /dev/null "$base/missing"
  curl -s -o /dev/null -H 'Host: elsewhere.example' "$base/small"
  for path in healthz readyz metrics status; do curl -s -o /dev/null "http://127.0.0.1:$admin/$path"; done
done
kill -TERM $vg; wait $vg 2>/dev/null || true
# Functions of the binary by their own instruction count, hottest first (callgrind's "'2" marks a
# recursion level of a name already listed; unnamed code shows as an address).
python3 - "$work/cg.out" > "$root/scripts/link-order.txt" <<'PY'
import re, sys
cost, fn, inbinary, call = {}, None, False, False
for line in open(sys.argv[1]):
    if line.startswith('ob='):
        inbinary = line.rstrip().endswith('/bp')
    elif line.startswith('fn='):
        fn = re.sub(r"'\d+$", '', line[3:].strip()) if inbinary else None
    elif line.startswith('calls='):
        call = True  # the next cost line is that call's inclusive cost, not fn's own
    elif line[:1].isdigit():
        if fn and not call:
            parts = line.split()
            cost[fn] = cost.get(fn, 0) + int(parts[1])
        call = False
for name in sorted((n for n in cost if not n.startswith('0x')), key=lambda n: (-cost[n], n)):
    print(name)
PY
echo "link-order.sh: $(wc -l < "$root/scripts/link-order.txt") functions in scripts/link-order.txt"

#!/usr/bin/env bash
# Instructions per proxied request (user space, all threads), counted by callgrind: a figure that
# does not move with the machine's load, for comparing two builds of bearer-proxy where a CPU-time
# difference of a few percent drowns in run-to-run noise. Kernel time is not counted.
#
#   bench/instructions.sh [BINARY...]     (default: .build-static/release/bearer-proxy)
#
# Uses the configs, certificates and peers of bench/run.sh (run it once first: it writes
# bench/out): the TLS upstream nginx and the token server are started here, the proxy runs under
# `valgrind --tool=callgrind`, wrk sends small requests on 8 connections for $SECONDS_MEASURED s
# (default 10) after a 3 s warm-up, and the counters are zeroed in between. Prints one line per
# binary: requests, instructions, instructions per request. Needs valgrind and wrk.
# KEEP_PROFILE=PATH keeps each profile as PATH.<binary name>, for callgrind_annotate.
# ACCESS_LOG=1 runs the proxy at log level info, with its access log on (to a file), as shipped.
# valgrind 3.19 cannot read the DWARF 5 of Swift's debug info, so each binary is copied without it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); out="$here/out"
[ -f "$out/proxy.conf" ] && [ -f "$out/upstream.conf" ] || { echo "instructions.sh: run bench/run.sh once first (it writes bench/out)" >&2; exit 2; }
for tool in valgrind callgrind_control wrk nginx objcopy curl; do command -v $tool >/dev/null || { echo "instructions.sh: needs $tool" >&2; exit 2; }; done
[ $# -gt 0 ] || set -- "$here/../.build-static/release/bearer-proxy"
port=${IR_PORT:-18099}; tok=18444
. "$here/peers.sh"
sed "s/^listen: .*/listen: 127.0.0.1:$port/" proxy.conf > "$work/proxy.conf"
[ "${ACCESS_LOG:-0}" = 1 ] && sed -i "s/^  level: .*/  level: info/" "$work/proxy.conf"
for bin in "$@"; do
  objcopy --strip-debug "$bin" "$work/bp"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$work/bp" --config "$work/proxy.conf" 2>"$work/valgrind.log" >/dev/null & vg=$!
  for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/small" && break; sleep 0.5; done
  wrk -t1 -c8 -d3s "http://127.0.0.1:$port/small" >/dev/null
  callgrind_control -z $vg >/dev/null
  n=$(wrk -t1 -c8 -d"${SECONDS_MEASURED:-10}"s "http://127.0.0.1:$port/small" | awk '/requests in/{print $1}')
  callgrind_control -d $vg >/dev/null
  sleep 1; kill $vg; wait $vg 2>/dev/null || true
  ir=$(grep -h "^summary:" "$work"/cg.$vg.1 | awk '{print $2}')
  [ -n "${KEEP_PROFILE:-}" ] && cp "$work"/cg.$vg.1 "$KEEP_PROFILE.$(basename "$bin")"
  printf '%s: %s requests, %s instructions, %s per request\n' "$bin" "$n" "$ir" "$((ir / n))"
  rm -f "$work"/cg.*
done

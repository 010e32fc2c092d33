#!/usr/bin/env bash
# Where a request's CPU time goes, in microseconds by part, for bearer-proxy and nginx side by
# side: `perf record -a -e cpu-clock -g` while wrk sends small requests through one proxy, then
# bench/profile_parts.py sorts that proxy's samples into parts (kernel time by system call,
# OpenSSL, parsing, our own code, the Swift runtime, libdispatch, libc, nginx's own code).
#
#   bench/profile.sh [-c "CONNECTIONS..."] [-d SECONDS] [-r ROUNDS] [BINARY]
#       defaults: -c "4 64", -d 5, -r 2, BINARY .build-static/release/bearer-proxy
#
# Uses bench/run.sh's configs, certificates and peers (run it once first: it writes bench/out):
# the TLS upstream nginx, the token server, nginx as the reference proxy (ref.conf) and
# bearer-proxy with proxy.conf, two workers each. The proxies take turns, ROUNDS times per
# connection count, and each part's figure is the median over the rounds. Requests are what wrk
# counted while perf recorded. A row "CPU time from /proc" gives the same window's CPU time as
# bench/run.sh reads it, to check the sampled total against. Read the parts from here and the
# ratios from bench/run.sh: the host's speed changes from round to round, and sampling may cost
# the proxy that switches threads more a little more (at 4 connections bearer-proxy read
# 41.6-51.4 us per request here in four runs, and 38.5 in bench/run.sh minutes later).
# Needs perf, wrk, nginx, curl, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here"); out="$here/out"
CONNS="4 64"; SECS=5; ROUNDS=2
while [ $# -gt 0 ]; do
  case $1 in
    -c) CONNS=$2; shift 2 ;;
    -d) SECS=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "profile.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
bin=$(realpath -- "${1:-"$root/.build-static/release/bearer-proxy"}")
[ -f "$out/proxy.conf" ] && [ -f "$out/ref.conf" ] || { echo "profile.sh: run bench/run.sh once first (it writes bench/out)" >&2; exit 2; }
for tool in perf wrk nginx curl python3; do command -v $tool >/dev/null || { echo "profile.sh: needs $tool" >&2; exit 2; }; done
[ -x "$bin" ] || { echo "profile.sh: no binary at $bin (scripts/build-release.sh builds it)" >&2; exit 2; }
perf record -q -a -e cpu-clock -o /dev/null -- true 2>/dev/null \
  || { echo "profile.sh: perf cannot sample the whole system here (needs root, or perf_event_paranoid <= 0)" >&2; exit 2; }
ngx_port=${NGX_PORT:-18081}; bp_port=${PROFILE_PORT:-18096}; tok=18444
. "$here/peers.sh"
# The reference nginx daemonises and writes its pid file a moment later; the trap reads it then.
rm -f "$out/ref.pid"
stop_ref() { [ -s "$out/ref.pid" ] && kill "$(cat "$out/ref.pid")" 2>/dev/null; cleanup; }
trap stop_ref EXIT
nginx -p "$out" -c "$out/ref.conf"
for _ in $(seq 50); do [ -s "$out/ref.pid" ] && break; sleep 0.1; done
ref_master=$(cat "$out/ref.pid")
sed "s/^listen: .*/listen: 127.0.0.1:$bp_port/" proxy.conf > "$work/proxy.conf"
"$bin" --config "$work/proxy.conf" >"$work/bp.log" 2>&1 & bp=$!; pids+=($bp)
for _ in $(seq 60); do curl -sf -o /dev/null "http://127.0.0.1:$bp_port/small" && break; sleep 0.25; done
curl -sf -o /dev/null "http://127.0.0.1:$bp_port/small" || { echo "profile.sh: bearer-proxy does not answer (log: $(tail -3 "$work/bp.log"))" >&2; exit 1; }
curl -sf -o /dev/null "http://127.0.0.1:$ngx_port/small" || { echo "profile.sh: the reference nginx does not answer" >&2; exit 1; }
ngx_pids=$(pgrep -P "$ref_master" | paste -sd, -)
# utime + stime of the processes in a comma-separated list, in clock ticks.
cpu_ticks() { local t=0 p; for p in ${1//,/ }; do t=$((t + $(cut -d' ' -f14 /proc/$p/stat) + $(cut -d' ' -f15 /proc/$p/stat))); done; echo $t; }

for conns in $CONNS; do
  for proxy in nginx bearer-proxy; do
    port=$ngx_port; [ $proxy = bearer-proxy ] && port=$bp_port
    wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port/small" >/dev/null   # warm: pools filled, token cached
  done
  for round in $(seq "$ROUNDS"); do
    for proxy in nginx bearer-proxy; do
      port=$ngx_port; target=$ngx_pids; [ $proxy = bearer-proxy ] && { port=$bp_port; target=$bp; }
      # System-wide (-a): sampling per CPU, not per thread, so it adds nothing to a context
      # switch (per-thread sampling charged the proxy with more switches for each of them).
      # cpu-clock, so that a sample's period is nanoseconds on any host. wrk is perf's workload:
      # the recording covers its whole run.
      t0=$(cpu_ticks "$target")
      perf record -q -a -e cpu-clock -F 999 -g -o "$work/perf.data" -- \
        wrk -t1 -c"$conns" -d"${SECS}"s "http://127.0.0.1:$port/small" > "$work/wrk.out" 2>"$work/perf.err" \
        || { echo "profile.sh: perf record failed: $(tail -3 "$work/perf.err")" >&2; exit 1; }
      t1=$(cpu_ticks "$target")
      n=$(awk '/requests in/{print $1}' "$work/wrk.out")
      [ "${n:-0}" -gt 0 ] || { echo "profile.sh: wrk completed no request through $proxy ($(tail -3 "$work/wrk.out"))" >&2; exit 1; }
      # The same window's CPU time from /proc (utime + stime, all threads), as bench/run.sh reads it.
      echo "{\"CPU time from /proc (check)\": $(python3 -c "print(round(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $n, 2))")}" \
        > "$work/proc.$conns.$proxy.$round.json"
      perf script -i "$work/perf.data" --pid "$target" -F comm,pid,tid,time,period,event,ip,sym,dso 2>"$work/perf.err" \
        > "$work/perf.txt" || { echo "profile.sh: perf script failed: $(tail -3 "$work/perf.err")" >&2; exit 1; }
      python3 "$here/profile_parts.py" "$n" < "$work/perf.txt" > "$work/parts.$conns.$proxy.$round.json"
      echo "  $conns connections, $proxy, round $round: $n requests" >&2
    done
  done
done

python3 - "$work" "$CONNS" "$ROUNDS" <<'PY'
import json, statistics, sys
work, conns, rounds = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
order = [
    'kernel: send', 'kernel: receive', 'kernel: epoll_wait', 'kernel: epoll_ctl', 'kernel: futex',
    'kernel: eventfd (libdispatch re-arming its source)', 'kernel: accept', 'kernel: close',
    'kernel: other system calls', 'kernel: scheduling on the way back to user space, interrupts',
    'OpenSSL', 'bearer-proxy: parsing heads', 'bearer-proxy: building heads',
    'bearer-proxy: sessions, connections, loops, pool, token, metrics, log', "nginx's own code",
    'Swift runtime: reference counting', 'Swift runtime: exclusivity checks', 'Swift runtime: other (allocation, metadata)',
    'libdispatch', 'libc: malloc and free', 'libc: memcpy, memset, memchr, strcmp', 'libc: other (system call wrappers, clocks)',
    'Swift standard library', 'other libraries, unknown', 'total', 'CPU time from /proc (check)',
    'of the total: on libdispatch overcommit threads (its manager, timers, log writer)',
]
for c in conns:
    data = {p: [json.load(open(f'{work}/parts.{c}.{p}.{r}.json')) | json.load(open(f'{work}/proc.{c}.{p}.{r}.json'))
                for r in range(1, rounds + 1)] for p in ('nginx', 'bearer-proxy')}
    def med(p, k):
        return statistics.median(d.get(k, 0.0) for d in data[p])
    keys = [k for k in order if any(med(p, k) > 0.004 for p in data)]
    keys += sorted(k for d in data['bearer-proxy'] + data['nginx'] for k in d if k not in order and k not in keys)
    print(f'\nCPU time per request, small responses, {c} connections (microseconds, median of {rounds} rounds, under perf sampling)')
    print(f'{"part":<72} {"bearer-proxy":>12} {"nginx":>8}')
    print(f'{"-" * 72} {"-" * 12} {"-" * 8}')
    for k in dict.fromkeys(keys):
        print(f'{k:<72} {med("bearer-proxy", k):>12.2f} {med("nginx", k):>8.2f}')
PY

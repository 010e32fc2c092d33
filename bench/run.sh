#!/usr/bin/env bash
# The bearer-proxy benchmark (issue 6), one command: bearer-proxy beside nginx doing the same job.
#
# Peers started here, all on 127.0.0.1 only:
#   - nginx as the TLS upstream: /small (100 bytes), /large (1 MiB), /upload (reads a body of up to
#     2 MiB, answers 204), /auth (echoes the Authorization header); anything without
#     "Authorization: Bearer ..." gets 401, so a request the proxy failed to sign shows as non-2xx.
#   - a TLS OAuth2 token endpoint (bench/token_server.py) that records every token request.
#   - nginx as the reference proxy (2 workers, plain HTTP in, static Bearer header, verified TLS out
#     through a keep-alive pool) and bearer-proxy with the equivalent config (2 workers).
# Load comes from wrk on loopback. The two proxies run alternately, A B A B ..., for each case.
# CPU = utime+stime from /proc of the proxy's processes (nginx: master + workers); peak RSS =
# VmHWM, reset before each run through /proc/PID/clear_refs (nginx: summed over its processes).
#
# usage: bench/run.sh [-r ROUNDS] [-d SECONDS] [-c "CASES"] [--no-build] [--no-chart] [--counts]
#   cases: small64 small256 small4 small64log idle1000 newconn dpop large256 upload256 (default: all, in this order:
#          RSS is what the process holds, and heap taken by 1 MiB transfers is kept afterwards,
#          so the cases that report idle memory run before the big ones)
#   --counts: after the rounds of each case, one more run per proxy under `perf stat` that counts
#          system calls and context switches per request (where the time goes; needs perf; the
#          counting slows both proxies, so these runs are not part of the figures above)
#   env:   TOKEN_LIFETIME (s, default 120), POOL (idle upstream connections kept per worker,
#          default 256), UPSTREAM_WORKERS (default 1), WRK_THREADS (default 1),
#          ports UP_PORT TOK_PORT SINK_PORT NGX_PORT BP_PORT (18443 18444 18445 18081 18082)
# Output: a table on stdout; bench/out/runs/<stamp>/ (raw wrk output, runs.tsv, summary.md,
# summary.json, ratios.png, logs); the chart is also copied to bench/ratios.png.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CASES=${CASES:-"small64 small256 small4 small64log idle1000 newconn dpop large256 upload256"}
BUILD=1; CHART=1; COUNTS=0
while [ $# -gt 0 ]; do
  case $1 in
    -r|--rounds) ROUNDS=$2; shift 2 ;;
    -d|--duration) DURATION=$2; shift 2 ;;
    -c|--cases) CASES=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-chart) CHART=0; shift ;;
    --counts) COUNTS=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for c in $CASES; do
  case $c in small64|small256|small4|small64log|large256|upload256|idle1000|newconn|dpop) ;; *) echo "run.sh: unknown case $c" >&2; exit 2 ;; esac
done
TOKEN_LIFETIME=${TOKEN_LIFETIME:-120}
REFRESH_MARGIN=10
POOL=${POOL:-256}
UPSTREAM_WORKERS=${UPSTREAM_WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}
UP=${UP_PORT:-18443}; TOK=${TOK_PORT:-18444}; SINK=${SINK_PORT:-18445}; NGX=${NGX_PORT:-18081}; BP=${BP_PORT:-18082}
# small64log runs a second pair, both as users run them: nginx with its access_log on, bearer-proxy
# with the shipped defaults (no pool or log settings: log.level info, access log on).
NGXL=${NGXL_PORT:-18083}; BPL=${BPL_PORT:-18084}; TOKL=${TOKL_PORT:-18446}
WITH_LOG=0; case " $CASES " in *" small64log "*) WITH_LOG=1 ;; esac
# dpop: small64 through a bearer-proxy with token.dpop (a signed proof per request), its own token
# server answering token_type DPoP; nginx, which has no DPoP, is the same reference as small64, so
# the case's CPU minus small64's is what a proof costs.
BPD=${BPD_PORT:-18085}; TOKD=${TOKD_PORT:-18447}
WITH_DPOP=0; case " $CASES " in *" dpop "*) WITH_DPOP=1 ;; esac
IDLE_CONNS=1000

here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
out="$here/out"; stamp=$(date -u +%Y%m%dT%H%M%SZ); rdir="$out/runs/$stamp"
mkdir -p "$rdir/raw" "$out/logs" "$out/tmp"
# The binary the container ships (Dockerfile): scripts/build-release.sh links Swift's runtime,
# OpenSSL, libyaml and libstdc++ in. BP_BIN=path measures another build instead.
build_path="$root/.build-static"
bin=${BP_BIN:-"$build_path/release/bearer-proxy"}
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if [ "$COUNTS" = 1 ] && ! perf stat -e context-switches true >/dev/null 2>&1; then
  echo "run.sh: --counts needs a working perf (apt-get install linux-perf; perf_event_paranoid <= 1 or root)" >&2; exit 2
fi
for tool in nginx wrk python3 curl openssl ss timeout; do
  command -v $tool >/dev/null || die "needs $tool (apt-get install nginx-light wrk curl openssl iproute2 python3)"
done
if [ "$BUILD" = 1 ]; then
  log "scripts/build-release.sh .build-static"
  "$root/scripts/build-release.sh" "$build_path" >"$rdir/build.log" 2>&1 \
    || die "build failed, see $rdir/build.log"
fi
[ -x "$bin" ] || die "no $bin (run without --no-build)"

# --- ports must be free ----------------------------------------------------------------------
ports="$UP $TOK $SINK $NGX $BP"; [ "$WITH_LOG" = 1 ] && ports+=" $NGXL $BPL $TOKL"; [ "$WITH_DPOP" = 1 ] && ports+=" $BPD $TOKD"
for p in $ports; do
  if [ -n "$(ss -Htln "sport = :$p")" ]; then
    die "port $p is in use on this machine ($(ss -Htlnp "sport = :$p" | head -1)); set UP_PORT/TOK_PORT/SINK_PORT/NGX_PORT/BP_PORT"
  fi
done
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- everything started here is stopped on exit --------------------------------------------------
rm -f "$out/ref.pid" "$out/ref-log.pid" "$out/upstream.pid" # stale files from a killed run (the ports are free, so no nginx of ours runs)
pids=(); cur_pids=() # long-lived peers; load generators of the current run
cleanup() {
  set +e
  pids+=("${cur_pids[@]}")
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$out/ref.pid" "$out/ref-log.pid" "$out/upstream.pid"; do [ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$out"
# --- test PKI (a CA and a leaf for localhost / 127.0.0.1) and payloads ---------------------------
if [ ! -f leaf.pem ] || ! openssl x509 -checkend 86400 -noout -in leaf.pem >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile leaf.ext 2>/dev/null
fi
head -c 100 /dev/zero | tr '\0' 'x' > small.txt
[ "$(stat -c %s large.bin 2>/dev/null)" = 1048576 ] || head -c 1048576 /dev/urandom > large.bin
head -c 1048576 /dev/zero | tr '\0' 'u' > upload.bin
printf 'secret-for-bench\n' > client_secret
rm -f logs/upload.log

# --- configs -----------------------------------------------------------------------------------
cat > upstream.conf <<NGX
worker_processes $UPSTREAM_WORKERS;
worker_rlimit_nofile 20000;
pid $out/upstream.pid;
error_log $out/logs/upstream.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $out/tmp/upstream_body;
  proxy_temp_path $out/tmp/upstream_proxy;
  # Which proxy sent an upload: the reference nginx's static token ends in ".cmVm", the token
  # server's in ".c2ln" (same length, so both proxies forward headers of the same size).
  map \$http_authorization \$bench_from { "~\\.cmVm\$" nginx; default bearer-proxy; }
  log_format upload '\$status \$content_length \$request_length \$bench_from';
  map \$http_authorization \$bench_signed { "~^(Bearer|DPoP) ." 1; default 0; }
  upstream sink { server 127.0.0.1:$SINK; keepalive 16; }
  server {
    listen 127.0.0.1:$UP ssl;
    ssl_certificate $out/leaf.pem; ssl_certificate_key $out/leaf.key;
    ssl_session_cache shared:bench:1m;
    if (\$bench_signed = 0) { return 401; }
    location = /small { alias $out/small.txt; }
    location = /large { alias $out/large.bin; }
    location = /auth { default_type text/plain; return 200 "\$http_authorization"; }
    # Reads the whole body (request buffering, in memory up to 2 MiB) before answering: the proxy
    # module reads it even though proxy_pass_request_body is off; the sink answers 204.
    location = /upload {
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      access_log $out/logs/upload.log upload buffer=64k flush=1s;
      proxy_pass http://sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
  }
  server {
    listen 127.0.0.1:$SINK;
    location / { return 204; }
  }
}
NGX
# The reference proxy's token is static (it stands for "a proxy that has a token"), shaped like the
# token server's so that both proxies send an Authorization header of the same length.
TOKEN=$(python3 -c 'import base64,json,time;n=int(time.time());e=lambda d:base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode();print(e({"alg":"none","typ":"at+jwt"})+"."+e({"sub":"bench","iat":n,"exp":n+86400})+".cmVm")')
cat > ref.conf <<NGX
worker_processes 2;
worker_rlimit_nofile 20000;
pid $out/ref.pid;
error_log $out/logs/ref.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $out/tmp/ref_body;
  proxy_temp_path $out/tmp/ref_proxy;
  upstream api {
    server 127.0.0.1:$UP;
    keepalive $POOL;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$NGX;
    client_max_body_size 2m;
    location / {
      proxy_pass https://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host localhost:$UP;
      proxy_set_header Authorization "Bearer $TOKEN";
      # bearer-proxy sets these too (docs/http.md).
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $out/ca.pem;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      # bearer-proxy's upstream.connect_timeout default (TCP connect + TLS handshake); nginx's is 60s.
      proxy_connect_timeout 5s;
      # Stream like a sidecar: no request spooling, no response spooling to temp files.
      proxy_request_buffering off;
      proxy_buffering on;
      proxy_max_temp_file_size 0;
    }
  }
}
NGX
cat > proxy.conf <<CONF
listen: 127.0.0.1:$BP
workers: ${BP_WORKERS:-2}
upstream:
  url: https://localhost:$UP
  ca_file: $out/ca.pem
  pool:
    max_idle: $POOL
    idle_timeout: 60s
token:
  url: https://localhost:$TOK/token
  client_id: bench
  client_secret_file: $out/client_secret
  ca_file: $out/ca.pem
  refresh_margin: ${REFRESH_MARGIN}s
admin:
  enabled: false
limits:
  max_body_size: 2097152
  max_connections: 4096
timeouts:
  idle: 60s
log:
  level: ${BP_LOG_LEVEL:-warning}
CONF
"$bin" check-config --config proxy.conf >"$rdir/check-config.log" 2>&1 || die "bearer-proxy check-config failed: $(cat "$rdir/check-config.log")"
if [ "$WITH_LOG" = 1 ]; then
  sed -e "s/listen 127.0.0.1:$NGX;/listen 127.0.0.1:$NGXL;/" -e "s#pid $out/ref.pid;#pid $out/ref-log.pid;#" \
      -e "0,/access_log off;/s##access_log $out/logs/ref-access.log;#" ref.conf > ref-log.conf
  cat > proxy-log.conf <<CONF
listen: 127.0.0.1:$BPL
upstream:
  url: https://localhost:$UP
  ca_file: $out/ca.pem
token:
  url: https://localhost:$TOKL/token
  client_id: bench
  client_secret_file: $out/client_secret
  ca_file: $out/ca.pem
  refresh_margin: ${REFRESH_MARGIN}s
admin:
  enabled: false
limits:
  max_body_size: 2097152
CONF
  "$bin" check-config --config proxy-log.conf >>"$rdir/check-config.log" 2>&1 || die "bearer-proxy check-config (defaults) failed"
fi

if [ "$WITH_DPOP" = 1 ]; then
  sed -e "s/^listen: 127.0.0.1:$BP\$/listen: 127.0.0.1:$BPD/" -e "s#url: https://localhost:$TOK/token#url: https://localhost:$TOKD/token#" \
      -e "s/^  refresh_margin: .*/&\n  dpop: {algorithm: ES256}/" proxy.conf > proxy-dpop.conf
  "$bin" check-config --config proxy-dpop.conf >>"$rdir/check-config.log" 2>&1 || die "bearer-proxy check-config (dpop) failed"
fi

# --- start the peers -----------------------------------------------------------------------------
wait_http() { # url [curl args...]: up to 10 s for a 2xx
  local url=$1; shift
  for _ in $(seq 100); do curl -sf --max-time 2 -o /dev/null "$@" "$url" && return 0; sleep 0.1; done
  return 1
}
nginx -p "$out" -c "$out/upstream.conf" || die "upstream nginx did not start (logs/upstream.err)"
python3 "$here/token_server.py" 127.0.0.1 $TOK leaf.pem leaf.key bench secret-for-bench "$TOKEN_LIFETIME" \
  2>"$rdir/token_server.log" & pids+=($!)
wait_http "https://127.0.0.1:$TOK/count" --cacert ca.pem || die "token server did not answer"
wait_http "https://127.0.0.1:$UP/small" --cacert ca.pem -H "Authorization: Bearer x" || die "upstream nginx did not answer"
nginx -p "$out" -c "$out/ref.conf" || die "reference nginx did not start (logs/ref.err)"
"$bin" --config proxy.conf 2>"$rdir/bearer-proxy.log" & bp_pid=$!; pids+=($bp_pid)
wait_http "http://127.0.0.1:$NGX/small" || die "reference nginx did not answer on :$NGX"
wait_http "http://127.0.0.1:$BP/small" || die "bearer-proxy did not answer on :$BP (see $rdir/bearer-proxy.log)"
if [ "$WITH_LOG" = 1 ]; then
  rm -f "$out/logs/ref-access.log"
  # Its own token server, so that the token check above stays about the main bearer-proxy.
  python3 "$here/token_server.py" 127.0.0.1 $TOKL leaf.pem leaf.key bench secret-for-bench "$TOKEN_LIFETIME" \
    2>"$rdir/token_server-log.log" & pids+=($!)
  wait_http "https://127.0.0.1:$TOKL/count" --cacert ca.pem || die "second token server did not answer"
  nginx -p "$out" -c "$out/ref-log.conf" || die "reference nginx with access_log did not start"
  "$bin" --config proxy-log.conf 2>"$rdir/bearer-proxy-access.log" & bpl_pid=$!; pids+=($bpl_pid)
  wait_http "http://127.0.0.1:$NGXL/small" || die "reference nginx (access_log) did not answer on :$NGXL"
  wait_http "http://127.0.0.1:$BPL/small" || die "bearer-proxy (defaults) did not answer on :$BPL"
fi

if [ "$WITH_DPOP" = 1 ]; then
  python3 "$here/token_server.py" 127.0.0.1 $TOKD leaf.pem leaf.key bench secret-for-bench "$TOKEN_LIFETIME" DPoP \
    2>"$rdir/token_server-dpop.log" & pids+=($!)
  wait_http "https://127.0.0.1:$TOKD/count" --cacert ca.pem || die "DPoP token server did not answer"
  "$bin" --config proxy-dpop.conf 2>"$rdir/bearer-proxy-dpop.log" & bpd_pid=$!; pids+=($bpd_pid)
  wait_http "http://127.0.0.1:$BPD/small" || die "bearer-proxy (dpop) did not answer on :$BPD (see $rdir/bearer-proxy-dpop.log)"
  auth=$(curl -sf --max-time 5 "http://127.0.0.1:$BPD/auth") || die "bearer-proxy (dpop): /auth failed"
  [[ $auth == "DPoP "?* ]] || die "bearer-proxy (dpop): upstream saw Authorization '$auth'"
fi

ngx_pids() { local m; m=$(cat "$out/${1:-ref}.pid"); echo "$m" $(pgrep -P "$m"); }
pids_of() { # proxy [case]
  if [ "${2:-}" = small64log ]; then
    if [ "$1" = nginx ]; then ngx_pids ref-log; else echo "$bpl_pid"; fi
  elif [ "${2:-}" = dpop ] && [ "$1" != nginx ]; then echo "$bpd_pid"
  elif [ "$1" = nginx ]; then ngx_pids; else echo "$bp_pid"; fi
}
port_of() { # proxy [case]
  if [ "${2:-}" = small64log ]; then
    if [ "$1" = nginx ]; then echo $NGXL; else echo $BPL; fi
  elif [ "${2:-}" = dpop ] && [ "$1" != nginx ]; then echo $BPD
  elif [ "$1" = nginx ]; then echo $NGX; else echo $BP; fi
}
cpu_ms() { local t=0 a; for p in "$@"; do read -r -a a < "/proc/$p/stat"; t=$((t + a[13] + a[14])); done; echo $((t * 1000 / $(getconf CLK_TCK))); }
# CPU time the hypervisor gave to others while this machine's CPUs wanted it (steal, all CPUs):
# a round with much of it ran on a slower host than its neighbours.
steal_ms() { local a; read -r -a a < /proc/stat; echo $(( ${a[8]:-0} * 1000 / $(getconf CLK_TCK) )); }
status_kib() { local key=$1 t=0 v; shift; for p in "$@"; do v=$(awk -v k="$key:" '$1 == k {print $2}' "/proc/$p/status"); t=$((t + ${v:-0})); done; echo $t; }
reset_hwm() { for p in "$@"; do echo 5 > "/proc/$p/clear_refs" 2>/dev/null || true; done; }
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; }

start_rss_ngx=$(status_kib VmRSS $(ngx_pids)); start_rss_bp=$(status_kib VmRSS $bp_pid)
start_anon_bp=$(status_kib RssAnon $bp_pid); start_file_bp=$(status_kib RssFile $bp_pid)
# Where bearer-proxy's start RSS lives: resident KiB per mapping (shared libraries are file-backed).
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]")} /^Rss:/ {rss[name] += $2}
     END {for (n in rss) if (rss[n] > 0) printf "%8d KiB  %s\n", rss[n], n}' "/proc/$bp_pid/smaps" | sort -rn > "$rdir/bearer-proxy-start-rss-by-mapping.txt"

# --- check both proxies do the job before measuring ------------------------------------------------
large_sum=$(sha256sum < large.bin | cut -d' ' -f1)
for proxy in nginx bearer-proxy; do
  port=$(port_of $proxy)
  [ "$(curl -sf --max-time 5 "http://127.0.0.1:$port/small" | wc -c)" = 100 ] || die "$proxy: /small is not 100 bytes"
  [ "$(curl -sf --max-time 10 "http://127.0.0.1:$port/large" | sha256sum | cut -d' ' -f1)" = "$large_sum" ] || die "$proxy: /large differs from the upstream's file"
  auth=$(curl -sf --max-time 5 "http://127.0.0.1:$port/auth") || die "$proxy: /auth failed"
  [[ $auth == "Bearer "?* ]] || die "$proxy: upstream saw Authorization '$auth'"
  code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' --data-binary @upload.bin "http://127.0.0.1:$port/upload")
  [ "$code" = 204 ] || die "$proxy: 1 MiB upload answered $code"
done
sleep 1.2 # the upload log flushes every second
n_full=$(awk '$1 == 204 && $2 == 1048576 && $3 > 1048576 {print $4}' logs/upload.log | sort -u | wc -l)
[ "$n_full" = 2 ] || die "upstream did not log a complete 1 MiB upload from each proxy: $(cat logs/upload.log)"
log "peers up; both proxies pass /small, /large (sha256), /auth (Bearer), 1 MiB /upload (upstream read all of it)"

# --- the runs ----------------------------------------------------------------------------------
printf 'case\tproxy\tround\tcpu_ms\thwm_kib\trss_after_kib\tidle_rss_kib\tidle_result\traw\tsteal_ms\n' > "$rdir/runs.tsv"
# The load of a case: sets the caller's `conns` and `path` and adds to its `args` (bash functions
# see their caller's locals).
case_load() {
  case $1 in
    small64|small64log|idle1000|newconn|dpop) conns=64 ;;
    small4) conns=4 ;;  # the load a sidecar most often sees
    *) conns=256 ;;
  esac
  path=/small
  case $1 in
    large256)  path=/large ;;
    upload256) path=/upload; args+=(-s "$here/upload.lua") ;;
    newconn)   args+=(-H 'Connection: close') ;;
  esac
}
run_one() { # case proxy round
  local cs=$1 proxy=$2 round=$3 port ps conns path idle_pid="" ready idle_rss=- idle_res=-
  port=$(port_of "$proxy" "$cs"); ps=$(pids_of "$proxy" "$cs")
  local args=(--latency --timeout 10s -t"$WRK_THREADS" -d"${DURATION}s")
  case_load "$cs"
  local raw="$rdir/raw/$cs-$proxy-$round.txt"
  if [ "$cs" = idle1000 ]; then
    ready="$rdir/raw/$cs-$proxy-$round.ready"; rm -f "$ready"
    timeout -k 5 $((DURATION + 120)) python3 "$here/idle_clients.py" "$port" $IDLE_CONNS $((DURATION + 3)) "$ready" \
      > "$rdir/raw/$cs-$proxy-$round.idle" 2>&1 & idle_pid=$!; cur_pids+=($idle_pid)
    for _ in $(seq 600); do [ -s "$ready" ] && break; kill -0 $idle_pid 2>/dev/null || break; sleep 0.1; done
    [ -s "$ready" ] || die "$proxy: $IDLE_CONNS idle connections were not all set up in 60 s ($(cat "$rdir/raw/$cs-$proxy-$round.idle"))"
    sleep 0.5
    idle_rss=$(status_kib VmRSS $ps)
  fi
  reset_hwm $ps
  local c0 c1 s0 s1; c0=$(cpu_ms $ps); s0=$(steal_ms)
  # In the background and waited for, so that a signal's trap runs at once, not after wrk.
  timeout -k 5 $((DURATION + 60)) wrk "${args[@]}" -c"$conns" "http://127.0.0.1:$port$path" > "$raw" 2>&1 & local wpid=$!
  cur_pids+=($wpid)
  wait $wpid || log "$proxy $cs: wrk exited $? (see $raw)"
  alive $ps || die "$proxy died during $cs round $round (see $rdir/*.log, logs/ref.err)"
  c1=$(cpu_ms $ps); s1=$(steal_ms)
  local hwm rss; hwm=$(status_kib VmHWM $ps); rss=$(status_kib VmRSS $ps)
  if [ -n "$idle_pid" ]; then
    wait $idle_pid || true
    idle_res=$(grep -o 'opened=.*' "$rdir/raw/$cs-$proxy-$round.idle" | tr ' ' ',' || echo "no-result")
  fi
  cur_pids=() # all ended: never signal a reused pid
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cs" "$proxy" "$round" $((c1 - c0)) "$hwm" "$rss" "$idle_rss" "$idle_res" "$raw" $((s1 - s0)) >> "$rdir/runs.tsv"
  awk -v cs="$cs" -v p="$proxy" -v r="$round" -v cpu=$((c1 - c0)) -v hwm="$hwm" -v steal=$((s1 - s0)) '
    /requests in/ {n=$1} /Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {se=$0; sub(/.*errors: /, "", se)}
    END { printf "  %-9s %-12s r%s %9.0f req/s %7.2f CPU-ms/1k  peak %6.1f MiB  non-2xx=%d%s%s\n", cs, p, r, rps, (n ? cpu*1000/n : 0), hwm/1024, bad, (steal > 0 ? sprintf("  host steal %d ms", steal) : ""), (se ? "  socket errors: " se : "") }' "$raw" >&2
}

# System calls and context switches per request, counted by perf over one extra run per proxy.
COUNT_EVENTS="context-switches,raw_syscalls:sys_enter"
for sc in read write readv writev sendto recvfrom sendmsg recvmsg epoll_wait epoll_pwait epoll_ctl ioctl futex accept4 close; do
  COUNT_EVENTS+=",syscalls:sys_enter_$sc"
done
count_one() { # case proxy
  local cs=$1 proxy=$2 port ps conns path d=$(( DURATION < 5 ? DURATION : 5 ))
  port=$(port_of "$proxy" "$cs"); ps=$(pids_of "$proxy" "$cs")
  local args=(--timeout 10s -t"$WRK_THREADS" -d"${d}s")
  case_load "$cs"
  local raw="$rdir/raw/counts-$cs-$proxy.txt" pf="$rdir/raw/counts-$cs-$proxy.perf"
  timeout -k 5 $((d + 30)) perf stat -x, -o "$pf" -e "$COUNT_EVENTS" -p "$(echo $ps | tr ' ' ,)" -- sleep "$d" & local ppid=$!
  cur_pids+=($ppid)
  timeout -k 5 $((d + 60)) wrk "${args[@]}" -c"$conns" "http://127.0.0.1:$port$path" > "$raw" 2>&1 & local wpid=$!
  cur_pids+=($wpid)
  wait $wpid || log "$proxy $cs counts: wrk exited $? (see $raw)"
  wait $ppid || log "$proxy $cs counts: perf exited $? (see $pf)"
  cur_pids=()
  printf '%s\t%s\t%s\t%s\n' "$cs" "$proxy" "$raw" "$pf" >> "$rdir/counts.tsv"
}
[ "$COUNTS" = 1 ] && printf 'case\tproxy\twrk\tperf\n' > "$rdir/counts.tsv"

t_start=$(date +%s)
for cs in $CASES; do
  log "case $cs: $ROUNDS rounds of ${DURATION}s, nginx and bearer-proxy alternating"
  for r in $(seq "$ROUNDS"); do
    run_one "$cs" nginx "$r"; sleep 1
    run_one "$cs" bearer-proxy "$r"; sleep 1
  done
  if [ "$COUNTS" = 1 ] && [ "$cs" != idle1000 ]; then
    log "case $cs: counting system calls and context switches (perf stat), one run per proxy"
    count_one "$cs" nginx; sleep 1
    count_one "$cs" bearer-proxy; sleep 1
  fi
done
end_rss_ngx=$(status_kib VmRSS $(ngx_pids)); end_rss_bp=$(status_kib VmRSS $bp_pid)
curl -sf --max-time 5 --cacert ca.pem "https://127.0.0.1:$TOK/count" > "$rdir/token.json" || die "token server did not answer /count"
sleep 1.2
cp logs/upload.log "$rdir/upload.log"
cat > "$rdir/meta.json" <<JSON
{"stamp": "$stamp", "rounds": $ROUNDS, "duration": $DURATION, "cases": "$CASES", "wrk_threads": $WRK_THREADS,
 "pool": $POOL, "upstream_workers": $UPSTREAM_WORKERS, "token_lifetime": $TOKEN_LIFETIME, "refresh_margin": $REFRESH_MARGIN,
 "start_rss_kib": {"nginx": $start_rss_ngx, "bearer-proxy": $start_rss_bp},
 "start_bp_anon_kib": $start_anon_bp, "start_bp_file_kib": $start_file_bp,
 "end_rss_kib": {"nginx": $end_rss_ngx, "bearer-proxy": $end_rss_bp},
 "bench_seconds": $(( $(date +%s) - t_start )), "nproc": $(nproc), "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "git": "$(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD -- Sources || echo '+dirty')"}
JSON
chart=$([ "$CHART" = 1 ] && echo --chart || echo --no-chart)
python3 "$here/summarize.py" "$rdir" $chart
ln -sfn "runs/$stamp" "$out/latest"
if [ -f "$rdir/ratios.png" ]; then cp "$rdir/ratios.png" "$here/ratios.png"; log "chart: $rdir/ratios.png (copied to bench/ratios.png)"; fi

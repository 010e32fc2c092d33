#!/usr/bin/env bash
# Side-by-side: bearer-proxy and nginx doing the same job on this machine.
# Both take plain HTTP on loopback, add "Authorization: Bearer ...", and forward over verified
# TLS to the same nginx upstream through a keep-alive pool. Runs alternate A B A B ... so noise
# hits both; prints requests/s and CPU-ms per 1,000 requests (utime+stime from /proc) per round.
#
# usage: bench/compare.sh [rounds=3] [seconds=10] [connections=64]
set -euo pipefail
rounds=${1:-3}; seconds=${2:-10}; conns=${3:-64}
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
out="$here/out"; mkdir -p "$out"; cd "$out"
bin="$root/.build/release/bearer-proxy"
[ -x "$bin" ] || (cd "$root" && swift build -c release >/dev/null)
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk (apt-get install nginx-light wrk)"; exit 1; }

UP=18443; TOK=18444; NGX=18081; BP=18082
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -p "$out" -c upstream.conf -s stop 2>/dev/null || true; nginx -p "$out" -c ref.conf -s stop 2>/dev/null || true; }
trap cleanup EXIT

# Test PKI: a CA and a leaf for localhost / 127.0.0.1.
if [ ! -f leaf.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile leaf.ext 2>/dev/null
fi
head -c 100 /dev/zero | tr '\0' 'x' > small.txt
head -c 1048576 /dev/urandom > large.bin
printf 'secret-for-bench\n' > client_secret

mkdir -p logs
cat > upstream.conf <<NGX
worker_processes 1;
pid $out/upstream.pid;
error_log $out/logs/upstream.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP ssl;
    ssl_certificate $out/leaf.pem; ssl_certificate_key $out/leaf.key;
    location = /small { alias $out/small.txt; }
    location = /large { alias $out/large.bin; }
  }
}
NGX
TOKEN=$(python3 -c 'import base64,json,time;e=lambda d:base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode();print(e({"alg":"none"})+"."+e({"exp":int(time.time())+86400})+".c2ln")')
cat > ref.conf <<NGX
worker_processes 2;
pid $out/ref.pid;
error_log $out/logs/ref.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream api { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass https://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host localhost:$UP;
      proxy_set_header Authorization "Bearer $TOKEN";
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $out/ca.pem;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_buffering on;
    }
  }
}
NGX
cat > proxy.conf <<CONF
listen: 127.0.0.1:$BP
workers: ${WORKERS:-2}
upstream:
  url: https://localhost:$UP
  ca_file: $out/ca.pem
token:
  url: https://localhost:$TOK/token
  client_id: bench
  client_secret_file: $out/client_secret
  ca_file: $out/ca.pem
admin:
  enabled: false
log:
  level: warning
CONF

nginx -p "$out" -c upstream.conf
python3 "$here/token_server.py" 127.0.0.1 $TOK leaf.pem leaf.key bench secret-for-bench 86400 & pids+=($!)
nginx -p "$out" -c ref.conf
"$bin" --config proxy.conf & pids+=($!); bp_pid=$!
for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$BP/small && curl -sf -o /dev/null http://127.0.0.1:$NGX/small && break; sleep 0.1; done

cpu_ms() { # utime+stime in ms of the given pids
  local total=0; for p in "$@"; do set -- $(cut -d' ' -f14,15 /proc/$p/stat); total=$((total + $1 + $2)); done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}
ngx_pids() { echo $(cat ref.pid) $(pgrep -P "$(cat ref.pid)"); }

run() { # name port path -> "rps cpu_per_1k"
  local name=$1 port=$2 path=$3; local pids
  if [ "$name" = nginx ]; then pids=$(ngx_pids); else pids=$bp_pid; fi
  local c0=$(cpu_ms $pids)
  local res=$(wrk -t1 -c"$conns" -d"${seconds}s" "http://127.0.0.1:$port$path" 2>&1)
  local c1=$(cpu_ms $pids)
  local reqs=$(echo "$res" | awk '/requests in/ {print $1}')
  local rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
  local non2xx=$(echo "$res" | awk '/Non-2xx/ {print $NF}')
  awk -v r="$rps" -v c=$((c1 - c0)) -v n="$reqs" -v e="${non2xx:-0}" -v name="$name" \
    'BEGIN { printf "%-13s %10.0f req/s %8.2f CPU-ms/1k req  errors=%s\n", name, r, c * 1000 / n, e }'
}

for path in /small; do
  echo "== $path, wrk -t1 -c$conns -d${seconds}s, $rounds rounds"
  for r in $(seq "$rounds"); do
    run nginx $NGX $path
    run bearer-proxy $BP $path
  done
done
echo "token requests made by bearer-proxy: $(curl -sk https://127.0.0.1:$TOK/count)"

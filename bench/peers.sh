# Sourced by bench/instructions.sh and bench/link-order.sh: the peers bench/run.sh set up in
# bench/out (run it once first), started for a script that runs one proxy at a time.
# Expects $here (bench/) and $out (bench/out); sets $work (a scratch folder) and $pids, starts the
# TLS upstream nginx and a token server on port $tok (default 18444), and stops them on exit.
tok=${tok:-18444}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -s "$out/upstream.pid" ] && kill "$(cat "$out/upstream.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$out"; mkdir -p logs tmp
nginx -p "$out" -c "$out/upstream.conf"
python3 "$here/token_server.py" 127.0.0.1 "$tok" leaf.pem leaf.key bench secret-for-bench 3600 2>"$work/token.log" & pids+=($!)

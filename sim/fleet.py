#!/usr/bin/env python3
"""A fleet of bearer-proxy replicas sharing one token through a real Redis (token.shared_cache).

  python3 sim/fleet.py [--proxy .build/debug/bearer-proxy] [--replicas 30] [--lifetime 12]

Starts one token endpoint that counts requests, one TLS upstream that accepts only live tokens,
a real redis-server, and N bearer-proxy processes, and sends steady traffic spread over all of
them. Phases, each measured in token lifetimes:

  1. without shared_cache (the baseline): every replica fetches its own token;
  2. with shared_cache: one token request per lifetime for the whole fleet;
  3. Redis stopped: every replica keeps serving and fetches on its own;
  4. Redis back: one request per lifetime again;
  5. the replica holding the lease is killed while its token request hangs: another replica
     fetches once the lease expires.

Callers must see no error in any phase (the killed replica's own callers excepted). Prints the
figures and exits non-zero when a check fails.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "interop"))
from harness import Proxy, free_port, spawn, stop, stop_all, wait_for_port  # noqa: E402
from pki import CA  # noqa: E402


class TokenEndpoint:
    """Issues `sim-<n>-<random>` tokens with `expires_in: lifetime`, and remembers when each
    request came and until when each token is valid. `hang_next` makes the next request hang."""

    def __init__(self, directory: str, ca: CA, lifetime: int):
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self.requests: list[float] = []
        self.valid: dict[str, float] = {}
        self.hang_next = threading.Event()
        self.hung = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.monotonic()
                with endpoint.lock:
                    endpoint.requests.append(now)
                    number = len(endpoint.requests)
                if endpoint.hang_next.is_set():
                    endpoint.hang_next.clear()
                    endpoint.hung.set()
                    time.sleep(20)  # the holder is killed meanwhile; its connection is gone
                    return
                token = f"sim-{number}-{secrets.token_hex(8)}"
                with endpoint.lock:
                    endpoint.valid[token] = now + endpoint.lifetime
                body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": endpoint.lifetime}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = serve(Handler, directory, ca, "token")
        self.url = f"https://localhost:{self.server.server_address[1]}/token"

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        with self.lock:
            return sum(1 for t in self.requests if since <= t < until)

    def times(self, since: float, until: float) -> list[float]:
        with self.lock:
            return [t for t in self.requests if since <= t < until]

    def is_live(self, token: str) -> bool:
        with self.lock:
            expiry = self.valid.get(token)
        return expiry is not None and time.monotonic() < expiry


def serve(handler, directory: str, ca: CA, name: str) -> ThreadingHTTPServer:
    cert, key = ca.issue(name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def upstream(directory: str, ca: CA, endpoint: TokenEndpoint) -> ThreadingHTTPServer:
    """200 for a token the endpoint issued and that has not expired; 401 otherwise."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            header = self.headers.get("authorization", "")
            ok = header.startswith("Bearer ") and endpoint.is_live(header[7:])
            body = b"ok\n" if ok else b'{"error":"invalid_token"}\n'
            self.send_response(200 if ok else 401)
            if not ok:
                self.send_header("www-authenticate", 'Bearer error="invalid_token"')
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return serve(Handler, directory, ca, "upstream")


class Redis:
    def __init__(self, directory: str):
        self.port = free_port()
        self.directory = directory
        self.process = None

    def start(self):
        self.process = spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                              "--appendonly", "no", "--dir", self.directory, "--loglevel", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 10, self.process)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        stop(self.process)

    def cli(self, *args) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args], capture_output=True, text=True,
                              timeout=5).stdout.strip()


class Load:
    """One thread per replica, each sending GETs on a kept-alive connection at `rate` per second."""

    def __init__(self, proxies: list[Proxy], rate: float):
        self.proxies = proxies
        self.rate = rate
        self.lock = threading.Lock()
        self.ok = 0
        self.errors: list[tuple[float, int, str]] = []
        self.dead: set[int] = set()
        self.running = True
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(len(proxies))]
        for thread in self.threads:
            thread.start()

    def run(self, index: int):
        proxy = self.proxies[index]
        connection = None
        interval = 1.0 / self.rate
        next_at = time.monotonic() + interval * index / len(self.proxies)
        while self.running:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            if index in self.dead:
                return
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
                connection.request("GET", f"/sim/{index}")
                response = connection.getresponse()
                body = response.read()
                outcome = None if response.status == 200 else f"{response.status} {body[:120]!r}"
            except Exception as error:  # noqa: BLE001 - every failure is a caller's error
                outcome = f"{type(error).__name__}: {error}"
                connection = None
            with self.lock:
                if outcome is None:
                    self.ok += 1
                elif index not in self.dead:
                    self.errors.append((time.monotonic(), index, outcome))

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.ok, len(self.errors)

    def stop(self):
        self.running = False
        for thread in self.threads:
            thread.join(5)


def start_fleet(args, workdir, ca, endpoint, upstream_url, shared: dict | None) -> list[Proxy]:
    proxies = []
    for i in range(args.replicas):
        token = {"url": endpoint.url, "ca_file": ca.cert_file, "client_id": "fleet", "client_secret": "fleet-secret",
                 "timeout": f"{args.token_timeout}s", "refresh_margin": f"{args.margin}s", "min_request_interval": "0s"}
        if shared:
            token["shared_cache"] = shared
        proxy = Proxy(args.proxy, workdir, f"{'shared' if shared else 'alone'}-{i}", token, upstream_url, ca.cert_file)
        proxies.append(proxy)
    # check-config once (the rest are the same but for the port), then start them all.
    proxies[0].check_config()
    for proxy in proxies:
        proxy.check_config = lambda: None
        proxy.start()
    return proxies


def lifetimes(args, n: float) -> float:
    return n * args.lifetime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", default=os.path.join(REPO, ".build", "debug", "bearer-proxy"))
    parser.add_argument("--replicas", type=int, default=30)
    parser.add_argument("--lifetime", type=int, default=12, help="token lifetime in seconds")
    parser.add_argument("--margin", type=float, default=4, help="token.refresh_margin in seconds")
    parser.add_argument("--token-timeout", type=float, default=2, help="token.timeout (and the lease) in seconds")
    parser.add_argument("--rate", type=float, default=4, help="requests per second per replica")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not os.access(args.proxy, os.X_OK):
        print(f"fleet: no executable at {args.proxy}; run `swift build` first", file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix="bearer-proxy-fleet-")
    ca = CA(workdir, "fleet-ca")
    endpoint = TokenEndpoint(workdir, ca, args.lifetime)
    upstream_server = upstream(workdir, ca, endpoint)
    upstream_url = f"https://localhost:{upstream_server.server_address[1]}"
    redis = Redis(workdir)
    redis.start()
    key_file = os.path.join(workdir, "token-cache-key")
    with open(key_file, "wb") as f:
        f.write(secrets.token_bytes(32))
    shared = {"url": f"redis://127.0.0.1:{redis.port}/0", "key_file": key_file}

    figures: dict[str, dict] = {}
    checks: list[tuple[str, bool, str]] = []
    # Each replica refreshes `margin` (plus up to 20% jitter) before expiry: one cycle.
    cycle = args.lifetime - args.margin * 1.1

    def measure(name: str, load: Load, start: float, seconds: float) -> dict:
        ok0, err0 = load.snapshot()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        ok1, err1 = load.snapshot()
        end = time.monotonic()
        requests = endpoint.times(start, end)
        gaps = [round(b - a, 2) for a, b in zip(requests, requests[1:])]
        entry = {"seconds": round(end - start, 1), "lifetimes": round((end - start) / args.lifetime, 2),
                 "token_requests": len(requests), "per_lifetime": round(len(requests) / ((end - start) / args.lifetime), 2),
                 "caller_requests": ok1 - ok0 + err1 - err0, "caller_errors": err1 - err0, "min_gap_s": min(gaps) if gaps else None}
        figures[name] = entry
        print(f"  {name}: {json.dumps(entry)}", flush=True)
        return entry

    try:
        print(f"fleet: {args.replicas} replicas, token lifetime {args.lifetime}s, refresh margin {args.margin}s, "
              f"{args.rate * args.replicas:.0f} requests/s in all", flush=True)

        # 1. Without shared_cache.
        fleet = start_fleet(args, workdir, ca, endpoint, upstream_url, None)
        load = Load(fleet, args.rate)
        time.sleep(2)
        base = measure("without shared_cache", load, time.monotonic(), lifetimes(args, 3))
        load.stop()
        for proxy in fleet:
            proxy.stop()
        checks.append(("baseline: every replica fetches its own token",
                       base["per_lifetime"] >= args.replicas * 0.8, f"{base['per_lifetime']} per lifetime"))
        checks.append(("baseline: no caller error", base["caller_errors"] == 0, f"{base['caller_errors']} errors"))

        # 2. With shared_cache.
        fleet = start_fleet(args, workdir, ca, endpoint, upstream_url, shared)
        load = Load(fleet, args.rate)
        time.sleep(2)
        start = time.monotonic()
        steady = measure("with shared_cache", load, start, lifetimes(args, 3))
        expected = int(steady["seconds"] // cycle)
        checks.append(("shared: one token request per lifetime for the fleet",
                       steady["token_requests"] in (expected, expected + 1) and (steady["min_gap_s"] or args.lifetime) >= cycle * 0.8,
                       f"{steady['token_requests']} requests in {steady['lifetimes']} lifetimes, closest two {steady['min_gap_s']}s apart"))
        checks.append(("shared: no caller error", steady["caller_errors"] == 0, f"{steady['caller_errors']} errors"))

        # 3. Redis stopped mid-run.
        redis.stop()
        outage = measure("Redis stopped", load, time.monotonic(), lifetimes(args, 2))
        checks.append(("outage: every replica fetches on its own",
                       outage["token_requests"] >= args.replicas, f"{outage['token_requests']} requests in {outage['lifetimes']} lifetimes"))
        checks.append(("outage: no caller error", outage["caller_errors"] == 0, f"{outage['caller_errors']} errors"))

        # 4. Redis back (empty: a restarted cache without persistence).
        redis.start()
        settle = measure("Redis back, first lifetime", load, time.monotonic(), lifetimes(args, 1))
        back = measure("Redis back", load, time.monotonic(), lifetimes(args, 3))
        expected = int(back["seconds"] // cycle)
        checks.append(("recovered: one token request per lifetime again",
                       back["token_requests"] in (expected, expected + 1) and (back["min_gap_s"] or args.lifetime) >= cycle * 0.8,
                       f"{back['token_requests']} requests in {back['lifetimes']} lifetimes"))
        checks.append(("recovered: no caller error", settle["caller_errors"] + back["caller_errors"] == 0,
                       f"{settle['caller_errors'] + back['caller_errors']} errors"))

        # 5. The lease holder is killed while its token request hangs.
        endpoint.hang_next.set()
        if not endpoint.hung.wait(lifetimes(args, 2)):
            checks.append(("holder killed: a token request came", False, "none within two lifetimes"))
        else:
            killed_at = time.monotonic()
            holder = ""
            deadline = time.monotonic() + 2
            while not holder and time.monotonic() < deadline:
                leases = redis.cli("KEYS", "*:lease:*").split()
                holder = redis.cli("GET", leases[0]) if leases else ""
            pid = int(holder.split("/")[1]) if holder.count("/") == 2 else -1
            victim = next((i for i, p in enumerate(fleet) if p.process.pid == pid), None)
            if victim is None:
                checks.append(("holder killed: the lease names a replica", False, f"lease value {holder!r}"))
            else:
                load.dead.add(victim)
                os.killpg(fleet[victim].process.pid, signal.SIGKILL)
                print(f"  killed replica {victim} (pid {pid}), which held the lease", flush=True)
                after = measure("lease holder killed", load, killed_at, lifetimes(args, 2))
                taken_over = endpoint.times(killed_at + 0.001, killed_at + args.token_timeout + 2)
                checks.append(("holder killed: another replica fetched once the lease expired",
                               len(taken_over) >= 1 and taken_over[0] - killed_at >= args.token_timeout * 0.5,
                               f"next token request {round(taken_over[0] - killed_at, 2) if taken_over else '-'}s after the hang; "
                               f"{len(taken_over)} request(s) in that window"))
                checks.append(("holder killed: no caller error", after["caller_errors"] == 0, f"{after['caller_errors']} errors"))
        load.stop()
        errors = load.errors[:5]
        if errors:
            print("  first caller errors:", errors, flush=True)
    finally:
        stop_all()

    print()
    failed = 0
    for name, ok, detail in checks:
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"figures": figures, "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in checks]}, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Process and peer management for the interop suite: free ports, subprocesses torn down on any
exit, the Authlib authorization server, the nginx + Python upstream, the WebSocket upstream, and
bearer-proxy itself."""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")

_processes: list[subprocess.Popen] = []


def session() -> requests.Session:
    """A Session that ignores the environment (REQUESTS_CA_BUNDLE would override `verify`,
    and an http_proxy must not capture loopback traffic)."""
    s = requests.Session()
    s.trust_env = False
    return s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _die_with_parent():
    """Linux: SIGTERM the child when the suite dies, even by SIGKILL (no stray peers)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(argv, *, stdout=subprocess.PIPE, stderr=None, env=None) -> subprocess.Popen:
    """Starts a process in its own process group; `stop_all` ends it whatever happens."""
    process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                               env=env, start_new_session=True, preexec_fn=_die_with_parent)
    _processes.append(process)
    return process


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)
    if process in _processes:
        _processes.remove(process)


def stop_all() -> None:
    for process in list(reversed(_processes)):
        try:
            stop(process, grace=3.0)
        except Exception as e:  # keep tearing down the others
            print(f"teardown: {e}", file=sys.stderr)


def read_listening(process: subprocess.Popen, timeout: float) -> int:
    """Reads the `LISTENING <port>` line a peer prints when ready."""
    deadline = time.monotonic() + timeout
    buffer = b""
    fd = process.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
            match = re.search(rb"LISTENING (\d+)", buffer)
            if match:
                return int(match.group(1))
        if process.poll() is not None:
            break
    raise RuntimeError(f"peer {process.args[:2]} did not start (exit {process.poll()}): {buffer.decode(errors='replace')}")


class AuthServer:
    """The Authlib authorization server (peers/authz.py) over TLS."""

    def __init__(self, workdir, pki, clients, signing_key, port=None, name="authz", issuer=None):
        self.port = port or free_port()
        self.issuer = issuer or f"https://127.0.0.1:{self.port}"
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca_file = pki["ca"].cert_file
        cert, key = pki["server_cert"]
        clients_file = os.path.join(workdir, f"{name}-clients.json")
        with open(clients_file, "w") as f:
            json.dump(clients, f)
        self.log_file = open(os.path.join(workdir, f"{name}.log"), "wb")
        self.process = spawn(
            [sys.executable, os.path.join(PEERS, "authz.py"), "--port", str(self.port), "--cert", cert,
             "--key", key, "--signing-key", signing_key, "--issuer", self.issuer, "--clients", clients_file,
             "--client-ca", self.ca_file],
            stderr=self.log_file,
        )
        read_listening(self.process, 30)
        self.session = session()
        self.session.verify = self.ca_file

    @property
    def token_url(self):
        return f"{self.url}/token"

    def stats(self) -> dict:
        return self.session.get(f"{self.url}/admin/stats", timeout=10).json()

    def set(self, **values) -> None:
        self.session.post(f"{self.url}/admin/set", json=values, timeout=10).raise_for_status()

    def reset(self) -> None:
        self.session.post(f"{self.url}/admin/reset", timeout=10).raise_for_status()

    def stop(self):
        stop(self.process)
        self.log_file.close()


class Upstream:
    """nginx (TLS, from the test CA) in front of peers/upstream.py, which checks the bearer JWT.
    `name` keeps a second one's files apart from the first's."""

    def __init__(self, workdir, pki, authz: AuthServer, scopes, name="upstream"):
        self.backend_port = free_port()
        self.log_file = open(os.path.join(workdir, f"{name}.log"), "wb")
        argv = [sys.executable, os.path.join(PEERS, "upstream.py"), "--port", str(self.backend_port),
                "--issuer", authz.issuer, "--jwks-url", f"{authz.url}/jwks.json", "--ca-file", authz.ca_file]
        for scope in scopes:
            argv += ["--require-scope", scope]
        self.backend = spawn(argv, stderr=self.log_file)
        read_listening(self.backend, 30)

        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        # The same, but nginx closes idle client connections after 1 s (keepalive_timeout).
        self.short_port = free_port()
        self.short_url = f"https://127.0.0.1:{self.short_port}"
        # The same, asking for a TLS client certificate from the test CA and passing it to the
        # backend, which checks certificate-bound tokens against it (RFC 8705 §3.2).
        self.mtls_port = free_port()
        self.mtls_url = f"https://127.0.0.1:{self.mtls_port}"
        prefix = os.path.join(workdir, "nginx" if name == "upstream" else f"nginx-{name}")
        os.makedirs(prefix, exist_ok=True)
        cert, key = pki["server_cert"]
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = f"""{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
{temp}    client_max_body_size 128m;
    upstream backend {{ server 127.0.0.1:{self.backend_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        keepalive_requests 10000;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Client-Cert "";
            proxy_read_timeout 30s;
        }}
    }}
    server {{
        listen 127.0.0.1:{self.mtls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {pki["ca"].cert_file};
        ssl_verify_client optional;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
        }}
    }}
    server {{
        listen 127.0.0.1:{self.short_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        keepalive_timeout 1s;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Client-Cert "";
        }}
    }}
}}
"""
        conf_file = os.path.join(prefix, "nginx.conf")
        with open(conf_file, "w") as f:
            f.write(conf)
        self.nginx_log = open(os.path.join(prefix, "stderr.log"), "wb")
        self.nginx = spawn([shutil.which("nginx") or "/usr/sbin/nginx", "-p", prefix, "-c", conf_file, "-e", f"{prefix}/error.log"],
                           stdout=self.nginx_log, stderr=self.nginx_log)
        wait_for_port(self.port, 15, self.nginx)
        self.admin = f"http://127.0.0.1:{self.backend_port}/__admin"

    def stats(self) -> dict:
        return session().get(f"{self.admin}/stats", timeout=10).json()

    def call(self, action: str) -> None:
        session().post(f"{self.admin}/{action}", timeout=10).raise_for_status()


class WebSocketUpstream:
    """peers/ws_upstream.py: a WebSocket echo server on the `websockets` package, TLS from the test
    CA (no nginx in front), checking the bearer JWT on the handshake as peers/upstream.py does."""

    def __init__(self, workdir, pki, authz: AuthServer, scopes, name="ws-upstream"):
        cert, key = pki["server_cert"]
        self.ca_file = pki["ca"].cert_file
        self.log_file = open(os.path.join(workdir, f"{name}.log"), "wb")
        argv = [sys.executable, os.path.join(PEERS, "ws_upstream.py"), "--port", str(free_port()),
                "--cert", cert, "--key", key, "--issuer", authz.issuer, "--jwks-url", f"{authz.url}/jwks.json",
                "--ca-file", authz.ca_file]
        for scope in scopes:
            argv += ["--require-scope", scope]
        self.process = spawn(argv, stderr=self.log_file)
        self.port = read_listening(self.process, 30)
        self.url = f"https://127.0.0.1:{self.port}"

    def _admin(self, action: str) -> dict:
        with session() as s:
            r = s.get(f"{self.url}/__admin/{action}", verify=self.ca_file, timeout=10)
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict:
        return self._admin("stats")

    def call(self, action: str) -> None:
        self._admin(action)

    def stop(self):
        stop(self.process)
        self.log_file.close()


def yaml_lines(value, indent: int = 0) -> list[str]:
    """Block YAML for the proxy's config: mappings and lists of mappings in block style, every
    scalar and list of scalars as JSON (which YAML reads as flow style)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) or (isinstance(item, list) and any(isinstance(i, dict) for i in item)):
                lines.append(f"{pad}{key}:")
                lines += yaml_lines(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {json.dumps(item)}")
    else:
        for item in value:
            nested = yaml_lines(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines += nested[1:]
    return lines


class Proxy:
    """One bearer-proxy process with a generated config; its stderr (JSON log lines) in a file.

    The one-route form takes `token` and `upstream_url`; the routed form takes `tokens` (profile
    name to token settings) and `routes` (each with url, match, token, strip_prefix, ...) instead."""

    # Every upstream and every route gets these unless it sets them.
    UPSTREAM_DEFAULTS = {"connect_timeout": "3s", "response_timeout": "20s"}

    def __init__(self, binary, workdir, name, token: dict | None, upstream_url: str | None, upstream_ca: str | None,
                 extra_top: dict | None = None, admin: bool = False,
                 tokens: dict | None = None, routes: list | None = None):
        self.binary = binary
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = os.path.join(workdir, f"proxy-{name}")
        os.makedirs(self.dir, exist_ok=True)
        self.config_file = os.path.join(self.dir, "proxy.conf")
        lines = [f"listen: 127.0.0.1:{self.port}", "workers: 2"]
        if routes is None:
            upstream = {"url": upstream_url}
            if upstream_ca:
                upstream["ca_file"] = upstream_ca
            lines += yaml_lines({"upstream": {**upstream, **self.UPSTREAM_DEFAULTS}, "token": token})
        else:
            if token is not None or upstream_url is not None:
                raise ValueError("give either token and upstream_url, or tokens and routes")
            defaults = self.UPSTREAM_DEFAULTS
            lines += yaml_lines({"tokens": tokens,
                                 "routes": [{**r, **{k: v for k, v in defaults.items() if k not in r}} for r in routes]})
        self.admin_url = None
        if admin:
            admin_port = free_port()
            self.admin_url = f"http://127.0.0.1:{admin_port}"
            lines += ["admin:", f"  listen: 127.0.0.1:{admin_port}"]
        else:
            lines += ["admin:", "  enabled: false"]
        lines += ["log:", "  level: debug", "  format: json", "drain_timeout: 1s"]
        for key, value in (extra_top or {}).items():
            lines.append(f"{key}: {json.dumps(value)}")
        with open(self.config_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.token = token
        self.process = None
        self.log_path = os.path.join(self.dir, "stderr.log")

    def check_config(self) -> None:
        """Runs `check-config`; a config it rejects fails the case (every key the suite uses exists)."""
        result = subprocess.run([self.binary, "check-config", "--config", self.config_file],
                                capture_output=True, text=True, timeout=30)
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            raise AssertionError(f"check-config failed (exit {result.returncode}): {output}")

    def start(self) -> "Proxy":
        self.check_config()
        self.stderr = open(self.log_path, "wb")
        self.process = spawn([self.binary, "--config", self.config_file], stdout=self.stderr, stderr=self.stderr)
        wait_for_port(self.port, 20, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.stderr.close()

    def log_text(self) -> str:
        # The proxy batches log lines (a write at most ~20 ms after the line): wait until the
        # file has stopped growing for a moment, at most one second, before reading it.
        deadline = time.monotonic() + 1.0
        last, still = -1, 0
        while time.monotonic() < deadline and still < 2:
            size = os.path.getsize(self.log_path)
            still = still + 1 if size == last else 0
            last = size
            time.sleep(0.04)
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def log(self) -> list[dict]:
        entries = []
        for line in self.log_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"msg": line, "level": "raw"})
        return entries

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

#!/usr/bin/env python3
"""Minimal OAuth2 token endpoint for benchmarks: client credentials grant, HTTP Basic, TLS.

Counts token requests and records when each came (GET /count) so a benchmark can check that
the proxy makes exactly one token request per token lifetime.

usage: token_server.py HOST PORT CERT KEY CLIENT_ID SECRET [LIFETIME_SECONDS=3600]
"""
import base64, http.server, json, ssl, sys, threading, time

host, port, cert, key, client_id, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
lifetime = int(sys.argv[7]) if len(sys.argv) > 7 else 3600
# "DPoP" for the dpop case: the proxy then requires a DPoP-bound token (its proofs are not checked here).
token_type = sys.argv[8] if len(sys.argv) > 8 else "Bearer"
count = 0
times = []  # wall-clock time of each successful token request
lock = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            self.send_json(200, {"token_requests": count, "times": list(times), "lifetime": lifetime, "now": time.time()})

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        form = self.rfile.read(length).decode()
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        if auth != expected or "grant_type=client_credentials" not in form:
            self.send_json(401, {"error": "invalid_client"})
            return
        with lock:
            count += 1
            times.append(time.time())
        now = int(time.time())
        header = b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        payload = b64url(json.dumps({"sub": client_id, "iat": now, "exp": now + lifetime}).encode())
        self.send_json(200, {"access_token": f"{header}.{payload}.c2ln", "token_type": token_type, "expires_in": lifetime})


server = http.server.ThreadingHTTPServer((host, port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()

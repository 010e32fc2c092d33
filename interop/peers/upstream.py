#!/usr/bin/env python3
"""Resource server for the interop suite; nginx terminates TLS in front of it.

Every request must carry `Authorization: Bearer <JWT>` valid against the authorization server's
JWKS: RS256 signature, `typ` at+jwt, `iss`, `aud`, `exp` (with --leeway seconds, for the
integer-second `exp`) and the --require-scope scopes. Anything else is a 401 with
`WWW-Authenticate: Bearer error="invalid_token"`. Every answer is JSON echoing what arrived:
method, target, version, header fields, body length and SHA-256, and the token's claims.

/__admin/* (asked directly by the suite, never through the proxy): stats, reset, and
`revoke` (reject the tokens seen so far, as if they had been revoked) or `reject_all`.

Prints `LISTENING <port>` on stdout once it accepts connections.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import ssl
import sys
import threading
import time
import base64
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

try:
    import dpop  # run as a script from this folder
except ImportError:  # imported as peers.<module> by run.py
    from peers import dpop

AUDIENCE = "bearer-proxy-interop-api"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = []  # summaries: time, method, target, status, jti, reason
        self.revoked = set()
        self.reject_all = False
        self.tokens_seen = []  # jti in order of first appearance
        self.dpop_nonce = None  # when set, DPoP proofs must carry it (401 use_dpop_nonce otherwise)
        self.dpop_replay = dpop.Replay()
        self.dpop_proofs = []  # claims of every DPoP proof accepted


STATE = State()


class JWKS:
    def __init__(self, url: str, ca_file: str):
        self.url = url
        self.context = ssl.create_default_context(cafile=ca_file)
        self.lock = threading.Lock()
        self.keys = None
        self.fetched = 0.0

    def get(self, refresh: bool = False) -> KeySet:
        with self.lock:
            if self.keys is None or (refresh and time.time() - self.fetched > 1):
                with urllib.request.urlopen(self.url, context=self.context, timeout=5) as r:
                    self.keys = KeySet.import_key_set(json.load(r))
                self.fetched = time.time()
            return self.keys


def pattern_bytes(size: int) -> bytes:
    block = bytes(range(256)) * 256
    return (block * (size // len(block) + 1))[:size]


def certificate_thumbprint(escaped_pem: str | None) -> str | None:
    """x5t#S256 (base64url SHA-256 of the DER) of a URL-escaped PEM certificate, as nginx passes it."""
    if not escaped_pem:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    certificate = x509.load_pem_x509_certificate(urllib.parse.unquote(escaped_pem).encode())
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_validator(args, jwks: JWKS, state: State):
    """The bearer check, shared with peers/ws_upstream.py: validate(authorization) returns
    (claims, header, None) or (None, None, reason). `args` has issuer, leeway, require_scope."""
    scopes_required = set(args.require_scope or [])

    def validate(authorization: str | None, client_cert: str | None = None, proof: str | None = None,
                 method: str | None = None, url: str | None = None):
        """Returns (claims, header, None) or (None, None, reason). `client_cert`: the TLS client
        certificate nginx saw ($ssl_client_escaped_cert), for certificate-bound tokens."""
        if not authorization:
            return None, None, "no Authorization field"
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not value.strip():
            return None, None, f"not a bearer or DPoP credential (scheme {scheme!r})"
        try:
            try:
                token = jwt.decode(value.strip(), jwks.get(), algorithms=["RS256"])
            except JoseError:
                token = jwt.decode(value.strip(), jwks.get(refresh=True), algorithms=["RS256"])
        except (JoseError, ValueError) as e:
            return None, None, f"signature: {type(e).__name__}: {e}"
        header, claims = token.header, token.claims
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            return None, None, f"typ is {header.get('typ')!r}, not at+jwt"
        registry = jwt.JWTClaimsRegistry(
            leeway=args.leeway,
            iss={"essential": True, "value": args.issuer},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as e:
            return None, None, f"claims: {type(e).__name__}: {e}"
        jkt = (claims.get("cnf") or {}).get("jkt")
        if scheme.lower() == "dpop" or jkt is not None:
            # RFC 9449 §7: a DPoP-bound token only with the DPoP scheme and a proof by its key,
            # made for this method and URL, with its ath (and the nonce, when one is asked for).
            if scheme.lower() != "dpop" or jkt is None:
                return None, None, f"DPoP: scheme {scheme} with cnf.jkt {jkt!r}"
            with state.lock:
                nonce = state.dpop_nonce
            try:
                thumbprint, proof_claims = dpop.verify(proof, method, url, state.dpop_replay, access_token=value.strip(), nonce=nonce)
            except dpop.NeedsNonce:
                return None, None, "use_dpop_nonce"
            except ValueError as e:
                return None, None, f"DPoP proof: {e}"
            if thumbprint != jkt:
                return None, None, "DPoP proof key is not the one the token is bound to"
            with state.lock:
                state.dpop_proofs.append(proof_claims)
        bound = (claims.get("cnf") or {}).get("x5t#S256")
        if bound is not None:
            # RFC 8705 §3.2: a bound token is accepted only with the certificate it names.
            presented = certificate_thumbprint(client_cert)
            if presented != bound:
                return None, None, ("certificate binding: token bound to x5t#S256 "
                                    f"{bound}, connection presented {presented or 'no certificate'}")
        granted = set(str(claims.get("scope", "")).split())
        missing = scopes_required - granted
        if missing:
            return None, None, f"insufficient scope: missing {sorted(missing)}"
        with state.lock:
            if state.reject_all:
                return None, None, "rejecting every token (suite asked)"
            if claims.get("jti") in state.revoked:
                return None, None, "token revoked (suite asked)"
        return claims, header, None

    return validate


def make_handler(args, jwks: JWKS):
    validate = make_validator(args, jwks, STATE)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "interop-upstream"

        def log_message(self, fmt, *a):
            pass

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, payload: dict, extra=()):
            body = (json.dumps(payload, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _admin(self):
            path = self.path.split("?")[0]
            with STATE.lock:
                if path == "/__admin/stats":
                    return self._send(200, {"requests": STATE.requests, "tokens_seen": STATE.tokens_seen,
                                            "reject_all": STATE.reject_all, "dpop_proofs": STATE.dpop_proofs})
                if path == "/__admin/reset":
                    STATE.reset()
                elif path == "/__admin/revoke":
                    STATE.revoked.update(STATE.tokens_seen)
                elif path == "/__admin/reject_all":
                    STATE.reject_all = True
                elif path.startswith("/__admin/dpop_nonce/"):
                    STATE.dpop_nonce = path.rsplit("/", 1)[1]
                else:
                    return self._send(404, {"error": "no such admin path"})
            return self._send(200, {"ok": True})

        def _handle(self):
            if self.path.startswith("/__admin/"):
                self._read_body()
                return self._admin()
            body = self._read_body()
            proofs = self.headers.get_all("DPoP") or []
            url = f"https://{self.headers.get('Host')}{self.path.split('?')[0]}"
            claims, header, reason = validate(self.headers.get("Authorization"), self.headers.get("X-Client-Cert"),
                                              proofs[0] if len(proofs) == 1 else None, self.command, url)
            if len(proofs) > 1:
                claims, reason = None, f"{len(proofs)} DPoP fields"
            authorizations = self.headers.get_all("Authorization") or []
            if len(authorizations) > 1:
                claims, reason = None, f"{len(authorizations)} Authorization fields"
            echo = {
                "method": self.command,
                "target": self.path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "token_valid": claims is not None,
                "token_claims": claims,
                "token_header": header,
                "reject_reason": reason,
            }
            jti = (claims or {}).get("jti")
            with STATE.lock:
                if jti and jti not in STATE.tokens_seen:
                    STATE.tokens_seen.append(jti)
                STATE.requests.append({"t": time.time(), "method": self.command, "target": self.path,
                                       "status": 200 if claims else 401, "jti": jti, "reason": reason})
            if reason == "use_dpop_nonce":
                return self._send(401, echo, [
                    ("WWW-Authenticate", 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"'),
                    ("DPoP-Nonce", STATE.dpop_nonce)])
            if claims is None and (self.headers.get("Authorization") or "").lower().startswith("dpop "):
                return self._send(401, echo, [("WWW-Authenticate", f'DPoP error="invalid_token", error_description="{reason}"'.replace("\n", " "))])
            if claims is None:
                return self._send(401, echo, [("WWW-Authenticate",
                                               f'Bearer error="invalid_token", error_description="{reason}"'.replace("\n", " "))])
            query = dict(part.partition("=")[::2] for part in self.path.partition("?")[2].split("&") if part)
            if query.get("status") in ("204", "304"):
                self.send_response(int(query["status"]))
                self.send_header("ETag", '"interop"')
                self.end_headers()
                return None
            if "size" in query:
                return self._send_bytes(int(query["size"]), query.get("chunked") == "1")
            return self._send(200, echo)

        def _send_bytes(self, size: int, chunked: bool):
            """A large deterministic body (pattern_bytes), with Content-Length or chunked."""
            body = pattern_bytes(size)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            if not chunked:
                self.wfile.write(body)
                return
            for start in range(0, size, 65536):
                piece = body[start:start + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--jwks-url", required=True)
    parser.add_argument("--ca-file", required=True, help="CA that signed the authorization server")
    parser.add_argument("--require-scope", action="append")
    parser.add_argument("--leeway", type=int, default=1, help="seconds of leeway for exp/iat")
    args = parser.parse_args()
    jwks = JWKS(args.jwks_url, args.ca_file)
    jwks.get()  # fail at start, not at the first request, when the JWKS cannot be had
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args, jwks))
    httpd.daemon_threads = True
    print(f"LISTENING {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

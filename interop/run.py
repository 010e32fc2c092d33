#!/usr/bin/env python3
"""bearer-proxy interop suite: the real binary against peers we did not write.

  python3 interop/run.py [--proxy .build/debug/bearer-proxy] [--only NAME ...] [--keep]

Peers (all on loopback, free ports, started here and torn down at the end even on failure):
an Authlib authorization server over TLS (peers/authz.py), nginx over TLS in front of a Python
resource server that validates the bearer JWT against the JWKS (peers/upstream.py), a WebSocket
echo server on `websockets` over TLS that validates it the same way (peers/ws_upstream.py), and
curl, Python requests, websocket-client and `websockets` as clients. Each case runs its own
bearer-proxy with a generated config.

Every case runs: a feature that exists is tested, and a config key the proxy rejects fails the
case, so a regression can never hide as a skip. Last line: `N passed, M failed`.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pki as pkimod  # noqa: E402
from harness import AuthServer, Proxy, Upstream, WebSocketUpstream  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCOPES = ["urn:interop:read", "urn:interop:write"]
AUDIENCE = "bearer-proxy-interop-api"

# The workload identity issuer whose tokens the authorization server takes as a federated
# credential of fed-client (as a Kubernetes API server's projected service-account tokens).
WORKLOAD_ISSUER = "https://kubernetes.default.svc.cluster.local"
WORKLOAD_SUBJECT = "system:serviceaccount:payments:legacy-app"
WORKLOAD_AUDIENCE = "api://AzureADTokenExchange"

# Secrets with characters that RFC 6749 §2.3.1 form-encoding must get right.
SECRETS = {
    "basic-client": "b4s1c:s+cr%t /é=&",
    "post-client": "p0st+s3cr%t &=/ü",
    "csjwt-client": "hs256-shared-secret-for-client_secret_jwt-0123456789abcdef",
}


class Env:
    """Everything shared by the cases."""

    def __init__(self, binary: str, workdir: str):
        self.binary = binary
        self.workdir = workdir
        self.ca = pkimod.CA(workdir, "test-ca")
        self.wrong_ca = pkimod.CA(workdir, "wrong-ca")
        self.pki = {"ca": self.ca, "server_cert": self.ca.issue("localhost-server")}
        self.signing_key = os.path.join(workdir, "as-signing.pem")
        pkimod.rsa_key(self.signing_key)
        self.client_rsa = os.path.join(workdir, "client-rsa.pem")
        self.client_ec = os.path.join(workdir, "client-ec.pem")
        rsa_pub = self._public(pkimod.rsa_key(self.client_rsa), "client-rsa.pub.pem")
        ec_pub = self._public(pkimod.ec_key(self.client_ec), "client-ec.pub.pem")
        self.secret_files = {}
        for client, secret in SECRETS.items():
            path = os.path.join(workdir, f"{client}.secret")
            with open(path, "w", encoding="utf-8") as f:
                f.write(secret + "\n")
            os.chmod(path, 0o600)
            self.secret_files[client] = path
        self.workload_key = os.path.join(workdir, "workload-issuer.pem")
        pkimod.ec_key(self.workload_key)
        self.workload_jwks = os.path.join(workdir, "workload-jwks.json")
        with open(self.workload_jwks, "w", encoding="utf-8") as f:
            json.dump(self._workload_keyset().as_dict(private=False), f)
        # tls_client_auth: the certificate the authorization server registers for mtls-client,
        # and another one from the same CA.
        self.mtls_client = self.ca.issue("mtls-client", server=False)
        self.other_client = self.ca.issue("other-workload", server=False)
        self.wrong_secret_file = os.path.join(workdir, "wrong.secret")
        with open(self.wrong_secret_file, "w") as f:
            f.write("not-the-secret-Zq9\n")
        self.clients = [
            {"client_id": "basic-client", "client_secret": SECRETS["basic-client"], "methods": ["client_secret_basic"]},
            {"client_id": "post-client", "client_secret": SECRETS["post-client"], "methods": ["client_secret_post"]},
            {"client_id": "csjwt-client", "client_secret": SECRETS["csjwt-client"], "methods": ["client_secret_jwt"]},
            {"client_id": "pkjwt-client", "methods": ["private_key_jwt"], "public_keys": [
                {"pem": rsa_pub, "kid": "client-rsa-1", "type": "RSA"},
                {"pem": ec_pub, "kid": "client-ec-1", "type": "EC"},
            ]},
            {"client_id": "mtls-client", "methods": ["tls_client_auth"], "tls_client_auth_subject_dn": "CN=mtls-client"},
            {"client_id": "fed-client", "methods": ["federated_jwt"], "federation": {
                "issuer": WORKLOAD_ISSUER, "subject": WORKLOAD_SUBJECT, "audience": WORKLOAD_AUDIENCE,
                "jwks": self.workload_jwks,
            }},
        ]
        self.authz = AuthServer(workdir, self.pki, self.clients, self.signing_key)
        self.upstream = Upstream(workdir, self.pki, self.authz, SCOPES)
        self.proxies: list[Proxy] = []
        self.extra: list = []
        self._crm = None
        self._ws = None

    def _workload_keyset(self):
        from joserfc.jwk import ECKey, KeySet
        with open(self.workload_key, "rb") as f:
            return KeySet([ECKey.import_key(f.read(), {"kid": "workload-1", "use": "sig", "alg": "ES256"})])

    def mint_assertion(self, path: str, expires_in: int, jti: str) -> None:
        """Writes a workload identity token the way the kubelet does: signed by the workload
        issuer, then moved over the previous file."""
        from joserfc import jwt
        now = int(time.time())
        claims = {"iss": WORKLOAD_ISSUER, "sub": WORKLOAD_SUBJECT, "aud": [WORKLOAD_AUDIENCE],
                  "iat": now - 60, "nbf": now - 60, "exp": now + expires_in, "jti": jti}
        key = self._workload_keyset().keys[0]
        token = jwt.encode({"alg": "ES256", "kid": "workload-1", "typ": "JWT"}, claims, key)
        with open(path + ".new", "w", encoding="utf-8") as f:
            f.write(token + "\n")
        os.replace(path + ".new", path)

    def _public(self, key, name):
        from cryptography.hazmat.primitives import serialization
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    def token(self, client="basic-client", method="client_secret_basic", **overrides) -> dict:
        token = {"url": self.authz.token_url, "client_id": client}
        if client in self.secret_files:
            token["client_secret_file"] = self.secret_files[client]
        token.update({"scopes": SCOPES, "auth_method": method, "ca_file": self.ca.cert_file})
        token.update(overrides)
        return {k: v for k, v in token.items() if v is not None}

    def proxy(self, name, token=None, upstream_ca="default", start=True, upstream_url=None, admin=False,
              extra_top=None) -> Proxy:
        proxy = Proxy(self.binary, self.workdir, name, token or self.token(), upstream_url or self.upstream.url,
                      self.ca.cert_file if upstream_ca == "default" else upstream_ca, extra_top=extra_top, admin=admin)
        self.proxies.append(proxy)
        return proxy.start() if start else proxy

    def routed_proxy(self, name, tokens: dict, routes: list, admin=False) -> Proxy:
        """A proxy with `tokens:` profiles and `routes:`; each route verifies its upstream against the test CA."""
        routes = [{"ca_file": self.ca.cert_file, **route} for route in routes]
        proxy = Proxy(self.binary, self.workdir, name, None, None, None, admin=admin, tokens=tokens, routes=routes)
        self.proxies.append(proxy)
        return proxy.start()

    def crm(self) -> tuple[AuthServer, Upstream]:
        """A second authorization server (its own issuer and signing key) and a second upstream
        that accepts only its tokens, started on first use and kept for the rest of the suite;
        reset for each case that asks. A token of the first server is rejected there, and the
        first upstream rejects a token of this one."""
        if self._crm is None:
            signing_key = os.path.join(self.workdir, "as-crm-signing.pem")
            pkimod.rsa_key(signing_key)
            authz = AuthServer(self.workdir, self.pki, self.clients, signing_key, name="authz-crm")
            self._crm = (authz, Upstream(self.workdir, self.pki, authz, SCOPES, name="upstream-crm"))
        authz, upstream = self._crm
        authz.reset()
        upstream.call("reset")
        return self._crm

    def websocket_upstream(self) -> WebSocketUpstream:
        """The WebSocket echo server (peers/ws_upstream.py), checking tokens of the first
        authorization server; started on first use, kept for the rest of the suite, reset for each
        case that asks."""
        if self._ws is None:
            self._ws = WebSocketUpstream(self.workdir, self.pki, self.authz, SCOPES)
        self._ws.call("reset")
        return self._ws

    def end_case(self):
        for proxy in self.proxies:
            proxy.stop()
        self.proxies = []
        for peer in self.extra:
            peer.stop()
        self.extra = []


# ---------------------------------------------------------------- helpers

def check(condition, message):
    if not condition:
        raise AssertionError(message)


def get(proxy: Proxy, path="/interop", **kw) -> requests.Response:
    kw.setdefault("timeout", 30)
    return harness.session().get(proxy.url + path, **kw)


def echo(response: requests.Response) -> dict:
    check(response.status_code == 200, f"expected 200, got {response.status_code}: {response.text[:400]}")
    body = response.json()
    check(body.get("token_valid") is True, f"upstream rejected the token: {body.get('reject_reason')}")
    return body


def header_values(body: dict, name: str) -> list[str]:
    return [v for k, v in body["headers"] if k.lower() == name.lower()]


def log_has(proxy: Proxy, *needles) -> list[dict]:
    return [e for e in proxy.log() if all(n in json.dumps(e) for n in needles)]


def no_secret_in_log(proxy: Proxy, *secrets):
    text = proxy.log_text()
    for secret in secrets:
        check(secret not in text, "the proxy log contains a secret")


def curl(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--noproxy", "*", *args], capture_output=True, timeout=timeout)


def curl_via(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    """curl without `--noproxy`, so that `-x` or `env`'s http_proxy is used; no proxy variable of
    the suite's own environment leaks in."""
    clean = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    clean.update(env or {})
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout, env=clean)


def retry_after(response) -> int:
    value = response.headers.get("Retry-After")
    check(value is not None and value.isdigit(), f"503 without a numeric Retry-After (got {value!r})")
    return int(value)


def expect_503(response):
    check(response.status_code == 503, f"expected 503, got {response.status_code}: {response.text[:300]}")
    check(response.json().get("error") == "token_unavailable", f"503 body: {response.text[:300]}")
    return retry_after(response)


def await_recovery(proxy, path, since, limit, what):
    """Polls `path` until it answers 200 instead of the 503 of a token outage that ended at
    `since` (time.monotonic()). Checks the recovery came within `limit` seconds, and no later than
    the Retry-After of the first 503 after `since` promised (plus 2.5 s of polling and fetching).
    Returns the 200 response and the seconds it took."""
    promised = None
    while True:
        r = get(proxy, path)
        if r.status_code == 200:
            break
        after = expect_503(r)
        if promised is None:
            promised = after
        check(time.monotonic() - since < limit, f"no recovery within {limit} s after {what}")
        time.sleep(0.2)
    recovered = time.monotonic() - since
    check(promised is None or recovered <= promised + 2.5,
          f"recovered {recovered:.1f}s after {what}, the first Retry-After then said {promised}")
    return r, recovered


def burst(urls, pick):
    """GETs every URL at once (threads released together); returns (status, pick(json body)) for a
    200, else (status, the body's start), or ("exception", text)."""
    barrier = threading.Barrier(len(urls))
    results, lock = [], threading.Lock()

    def worker(url):
        barrier.wait()
        try:
            r = harness.session().get(url, timeout=30)
            outcome = (r.status_code, pick(r.json()) if r.status_code == 200 else r.text[:200])
        except requests.RequestException as e:
            outcome = ("exception", str(e))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def token_attempts(env) -> int:
    return env.authz.stats()["token_requests"]


def assert_method_used(env, method, client):
    events = [e for e in env.authz.stats()["events"] if e.get("outcome") == "200"]
    check(events, f"the authorization server issued no token: {env.authz.stats()['events']}")
    check(all(e.get("method") == method for e in events),
          f"expected every token request authenticated with {method}, got {[e.get('method') for e in events]}")


def check_bearer_replaced(body, env):
    auths = header_values(body, "Authorization")
    check(len(auths) == 1, f"upstream saw {len(auths)} Authorization fields: {auths}")
    check(auths[0].startswith("Bearer ey"), f"upstream Authorization is not the proxy's bearer JWT: {auths[0][:30]}")
    check(not header_values(body, "Proxy-Authorization"), "Proxy-Authorization reached the upstream")


# ---------------------------------------------------------------- cases

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def _auth_method_case(env, client, method, **token_overrides):
    proxy = env.proxy(method, env.token(client, method, **token_overrides))
    body = echo(get(proxy, "/auth-method"))
    check(body["token_claims"]["client_id"] == client, f"token issued to {body['token_claims']['client_id']}")
    assert_method_used(env, method, client)
    no_secret_in_log(proxy, *SECRETS.values())


@case
def auth_client_secret_basic(env):
    """Authlib authenticates us with HTTP Basic; the secret has : + % space é = & (form-encoded first)."""
    _auth_method_case(env, "basic-client", "client_secret_basic")


@case
def auth_client_secret_post(env):
    """Authlib authenticates us with client_id/client_secret in the form body."""
    _auth_method_case(env, "post-client", "client_secret_post")


@case
def auth_private_key_jwt_rs256(env):
    """RFC 7523 client assertion signed RS256 with kid; Authlib checks signature, iss=sub, aud, exp, jti."""
    _auth_method_case(env, "pkjwt-client", "private_key_jwt",
                      private_key_file=env.client_rsa, key_id="client-rsa-1", signing_alg="RS256")


@case
def auth_private_key_jwt_es256(env):
    """The same with an EC P-256 key and ES256 (signature format must be JOSE r||s, not DER)."""
    _auth_method_case(env, "pkjwt-client", "private_key_jwt",
                      private_key_file=env.client_ec, key_id="client-ec-1", signing_alg="ES256")


@case
def auth_private_key_jwt_fresh_assertions(env):
    """Two token fetches must use two different jti values (Authlib rejects a replayed jti)."""
    env.authz.set(expires_in=2)
    proxy = env.proxy("pkjwt-twice", env.token("pkjwt-client", "private_key_jwt",
                                               private_key_file=env.client_rsa, key_id="client-rsa-1"))
    echo(get(proxy))
    time.sleep(2.5)
    echo(get(proxy))
    stats = env.authz.stats()
    outcomes = [(e.get("outcome"), e.get("error_description")) for e in stats["events"]]
    check(stats["issued"] >= 2, f"expected at least two tokens, events: {outcomes}")
    check(all(o == "200" for o, _ in outcomes), f"a token request was rejected: {outcomes}")


@case
def auth_client_secret_jwt(env):
    """RFC 7523 client assertion HMAC-signed (HS256) with the client secret."""
    _auth_method_case(env, "csjwt-client", "client_secret_jwt")


@case
def federated_assertion(env):
    """auth_method: federated_jwt with a workload identity token (as a Kubernetes projected
    service-account token): Authlib checks it against the workload issuer's JWKS and the issuer,
    subject and audience registered for fed-client, and issues that client a token."""
    path = os.path.join(env.workdir, "fed-token")
    env.mint_assertion(path, 3600, "fed-1")
    proxy = env.proxy("federated", env.token("fed-client", "federated_jwt", assertion_file=path))
    body = echo(get(proxy, "/federated"))
    check(body["token_claims"]["client_id"] == "fed-client", f"token issued to {body['token_claims']['client_id']}")
    check_bearer_replaced(body, env)
    assert_method_used(env, "federated_jwt", "fed-client")
    check(env.authz.stats()["federated_jtis"] == ["fed-1"], f"assertions accepted: {env.authz.stats()['federated_jtis']}")
    with open(path, encoding="utf-8") as f:
        no_secret_in_log(proxy, f.read().strip().split(".")[2])


@case
def federated_assertion_expired_then_rotated(env):
    """An expired workload token is never sent: 503 with Retry-After, /readyz 503, no token
    request. When the kubelet replaces the file, a token comes within the watcher's poll, not
    after the 30 s backoff of a configuration failure; a rotated file is the one sent next."""
    path = os.path.join(env.workdir, "fed-token-expiring")
    env.mint_assertion(path, -60, "fed-expired")
    proxy = env.proxy("federated-expired", env.token("fed-client", "federated_jwt", assertion_file=path,
                                                     min_request_interval="0s"), admin=True)
    r = get(proxy, "/federated")
    expect_503(r)
    check("expired" in r.json().get("detail", ""), f"503 detail does not say the assertion expired: {r.text[:300]}")
    ready = harness.session().get(proxy.admin_url + "/readyz", timeout=10)
    check(ready.status_code == 503, f"/readyz {ready.status_code} with only an expired assertion")
    check(token_attempts(env) == 0, "a token request was sent with an expired assertion")
    env.mint_assertion(path, 3600, "fed-fresh")
    deadline = time.monotonic() + 15
    while get(proxy, "/federated").status_code != 200:
        check(time.monotonic() < deadline, "no token within 15 s of the assertion being replaced")
        time.sleep(0.3)
    env.mint_assertion(path, 3600, "fed-rotated")
    deadline = time.monotonic() + 15
    while "fed-rotated" not in env.authz.stats()["federated_jtis"]:
        check(time.monotonic() < deadline, f"the rotated assertion was not sent: {env.authz.stats()['federated_jtis']}")
        time.sleep(0.3)
    check(env.authz.stats()["federated_jtis"] == ["fed-fresh", "fed-rotated"],
          f"assertions accepted: {env.authz.stats()['federated_jtis']}")
    check(ready.status_code == 503 and harness.session().get(proxy.admin_url + "/readyz", timeout=10).status_code == 200,
          "/readyz not ready after the token came")


def x5t_s256(cert_file: str) -> str:
    """The x5t#S256 thumbprint (RFC 8705 §3.1) of the first certificate in a PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    with open(cert_file, "rb") as f:
        certificate = x509.load_pem_x509_certificate(f.read())
    return base64.urlsafe_b64encode(hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()).rstrip(b"=").decode()


def _bound_proxy(env, name, presented):
    """A proxy whose token profile authenticates with mtls-client's certificate, in front of the
    nginx server that asks for client certificates; its upstream presents `presented` (a
    (cert, key) pair) or nothing."""
    cert, key = env.mtls_client
    route = {"match": {"path_prefix": "/"}, "url": env.upstream.mtls_url, "token": "mtls"}
    if presented:
        route.update(client_cert_file=presented[0], client_key_file=presented[1])
    token = env.token("mtls-client", "tls_client_auth", client_cert_file=cert, client_key_file=key, min_request_interval="0s")
    return env.routed_proxy(name, {"mtls": token}, [route])


@case
def certificate_bound_token(env):
    """tls_client_auth against Authlib, which checks the certificate's subject and binds the token
    to it (cnf.x5t#S256); nginx asks the proxy for a client certificate and the resource server
    accepts the token because the upstream connection presents that same one (RFC 8705 §3)."""
    proxy = _bound_proxy(env, "bound", env.mtls_client)
    body = echo(get(proxy, "/bound"))
    bound = (body["token_claims"].get("cnf") or {}).get("x5t#S256")
    check(bound == x5t_s256(env.mtls_client[0]), f"token bound to {bound}, not to the client certificate")
    check(body["token_claims"]["client_id"] == "mtls-client", f"token issued to {body['token_claims']['client_id']}")
    assert_method_used(env, "tls_client_auth", "mtls-client")


@case
def certificate_bound_token_refused_elsewhere(env):
    """The bound token from an upstream connection that presents another certificate, or none,
    is refused by the resource server: 401 invalid_token, passed on after the one retry with a
    new token (bound the same way)."""
    for name, presented in (("bound-other", env.other_client), ("bound-none", None)):
        proxy = _bound_proxy(env, name, presented)
        r = get(proxy, "/bound")
        check(r.status_code == 401, f"{name}: expected 401, got {r.status_code}: {r.text[:300]}")
        reason = r.json().get("reject_reason") or ""
        check(reason.startswith("certificate binding"), f"{name}: refused for another reason: {reason}")
        check("invalid_token" in r.headers.get("WWW-Authenticate", ""), f"{name}: WWW-Authenticate {r.headers.get('WWW-Authenticate')}")


@case
def dpop_bound_token(env):
    """token.dpop against Authlib plus a joserfc proof check: the token request carries a proof and
    the server binds the token to its key (cnf.jkt, token_type DPoP); the resource server (joserfc)
    accepts a request only with a proof by that key for its method, URL and token (ath). Nonces on
    both sides: the token endpoint's 400 use_dpop_nonce and the resource server's 401
    use_dpop_nonce are each answered by one retry, and the nonce is kept. A client's own DPoP
    field goes nowhere."""
    env.authz.set(dpop_nonce="as-nonce-7")
    env.upstream.call("dpop_nonce/rs-nonce-9")
    proxy = env.proxy("dpop", env.token(dpop={"algorithm": "ES256"}))
    body = echo(get(proxy, "/dpop?x=1", headers={"DPoP": "forged-by-the-client"}))
    jkt = (body["token_claims"].get("cnf") or {}).get("jkt")
    check(jkt, f"the token is not DPoP-bound: {body['token_claims']}")
    check(header_values(body, "Authorization")[0].startswith("DPoP "), "the upstream did not get Authorization: DPoP")
    check(header_values(body, "DPoP") != ["forged-by-the-client"] and len(header_values(body, "DPoP")) == 1,
          f"DPoP fields upstream: {header_values(body, 'DPoP')}")
    outcomes = [e["outcome"] for e in env.authz.stats()["events"]]
    check(outcomes == ["use_dpop_nonce", "200"], f"token requests: {outcomes}")
    check(env.authz.stats()["dpop_proofs"] == 1, "the token endpoint did not accept exactly one proof")
    echo(get(proxy, "/dpop-again"))
    upstream = env.upstream.stats()
    statuses = [r["status"] for r in upstream["requests"]]
    check(statuses == [401, 200, 200], f"upstream statuses {statuses}: one use_dpop_nonce, then the nonce kept")
    proofs = upstream["dpop_proofs"]
    check([p.get("htu", "").split("/", 3)[-1] for p in proofs] == ["dpop", "dpop-again"], f"htu: {[p.get('htu') for p in proofs]}")
    check(all(p.get("nonce") == "rs-nonce-9" and p.get("htm") == "GET" for p in proofs), f"proofs: {proofs}")


@case
def peer_reference_clients(env):
    """The peers themselves, with Authlib's own OAuth2 client: every auth method gets a token the
    upstream accepts, and discovery answers. Proves a later proxy failure is the proxy's."""
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import ClientSecretJWT as ClientSecretJWTAuth, PrivateKeyJWT as PrivateKeyJWTAuth
    from joserfc.jwk import ECKey
    url = env.authz.token_url
    with open(env.client_rsa) as f:
        rsa_pem = f.read()
    with open(env.client_ec) as f:
        ec_pem = f.read()
    # No client_secret_basic here: Authlib's own client neither form-encodes the Basic credentials
    # (RFC 6749 §2.3.1) nor sends them as UTF-8, and Authlib's server answers that é with a 500.
    setups = [
        ("post-client", SECRETS["post-client"], "client_secret_post", None),
        ("csjwt-client", SECRETS["csjwt-client"], "client_secret_jwt", ClientSecretJWTAuth(url)),
        ("pkjwt-client", rsa_pem, "private_key_jwt", PrivateKeyJWTAuth(url, headers={"kid": "client-rsa-1"})),
        ("pkjwt-client", rsa_pem, "private_key_jwt", PrivateKeyJWTAuth(url)),  # kid is optional
        ("pkjwt-client", ECKey.import_key(ec_pem), "private_key_jwt",
         PrivateKeyJWTAuth(url, alg="ES256", headers={"kid": "client-ec-1"})),
    ]
    for client_id, secret, method, auth in setups:
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope=" ".join(SCOPES))
        session.trust_env = False
        if auth is not None:
            session.register_client_auth_method(auth)
        token = session.fetch_token(url, grant_type="client_credentials", verify=env.ca.cert_file)
        with harness.session() as s:
            r = s.get(env.upstream.url + "/reference", headers={"Authorization": f"Bearer {token['access_token']}"},
                      verify=env.ca.cert_file, timeout=30)
        body = echo(r)
        check(body["token_claims"]["client_id"] == client_id, f"{method}: token for {body['token_claims']['client_id']}")
    methods = [e.get("method") for e in env.authz.stats()["events"]]
    check(methods == [m for _, _, m, _ in setups], f"methods seen by the authorization server: {methods}")
    with harness.session() as s:
        for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            meta = s.get(env.authz.url + path, verify=env.ca.cert_file, timeout=30).json()
            check(meta["issuer"] == env.authz.issuer and meta["token_endpoint"] == url, f"{path}: {meta}")
    # The upstream rejects a revoked token with 401 invalid_token (what the retry case relies on).
    env.upstream.call("revoke")
    with harness.session() as s:
        r = s.get(env.upstream.url + "/reference", headers={"Authorization": f"Bearer {token['access_token']}"},
                  verify=env.ca.cert_file, timeout=30)
    check(r.status_code == 401 and 'error="invalid_token"' in r.headers.get("WWW-Authenticate", ""),
          f"revoked token: {r.status_code} {r.headers.get('WWW-Authenticate')}")


@case
def discovery(env):
    """token.issuer instead of token.url: the proxy finds the token endpoint by discovery."""
    token = env.token()
    del token["url"]
    token["issuer"] = env.authz.issuer
    proxy = env.proxy("discovery", token)
    echo(get(proxy))
    stats = env.authz.stats()
    check(stats["discovery_requests"] >= 1, "no discovery request reached the authorization server")
    check(stats["issued"] == 1, f"expected one token, got {stats['issued']}")


def _discovery_refused(env, proxy_name, token, authz, needle):
    """The proxy must not get a token: it exits at start or answers 503, and says why (`needle`)."""
    proxy = env.proxy(proxy_name, token, start=False)
    try:
        proxy.start()
    except RuntimeError:
        check(proxy.process.returncode not in (0, None), "the proxy exited 0")
    else:
        r = get(proxy, "/discovery-refused")
        check(r.status_code == 503, f"expected 503, got {r.status_code}: {r.text[:200]}")
    check(needle in proxy.log_text(), f"the proxy's log does not mention {needle!r}: {proxy.log_text()[-600:]}")
    check(authz.stats()["token_requests"] == 0, "a token request was made anyway")


@case
def discovery_issuer_mismatch(env):
    """The discovery document names another issuer than the one configured: refused, no token request."""
    port = harness.free_port()
    other = AuthServer(env.workdir, env.pki, env.clients, env.signing_key, port=port, name="authz-mismatch",
                       issuer=f"https://127.0.0.1:{port}/someone-else")
    env.extra.append(other)
    token = env.token()
    del token["url"]
    token["issuer"] = f"https://127.0.0.1:{port}"
    _discovery_refused(env, "issuer-mismatch", token, other, "issuer")


@case
def discovery_method_not_offered(env):
    """Discovery says client_secret_post is not offered: the proxy fails early with a clear message."""
    env.authz.set(advertised_methods=["client_secret_basic", "private_key_jwt"])
    token = env.token("post-client", "client_secret_post")
    del token["url"]
    token["issuer"] = env.authz.issuer
    _discovery_refused(env, "method-not-offered", token, env.authz, "client_secret_post")


@case
def upstream_accepts_token(env):
    """The token the upstream gets verifies against the JWKS, and its claims are what Authlib issued."""
    proxy = env.proxy("claims")
    body = echo(get(proxy, "/claims?x=1"))
    header, claims = body["token_header"], body["token_claims"]
    # Authlib's RFC 9068 generator writes no `kid` (optional in JWS); the upstream then tries every JWKS key.
    check(header.get("alg") == "RS256" and header.get("typ") == "at+jwt" and header.get("kid") in (None, "interop-rs256"),
          f"JWT header: {header}")
    check(claims["iss"] == env.authz.issuer, f"iss {claims['iss']}")
    check(claims["aud"] == AUDIENCE, f"aud {claims['aud']}")
    check(claims["client_id"] == "basic-client" and claims["sub"] == "basic-client", f"client_id/sub {claims}")
    check(sorted(claims["scope"].split()) == sorted(SCOPES), f"scope {claims['scope']!r}, requested {SCOPES}")
    check(claims["exp"] - claims["iat"] == 300, f"lifetime {claims['exp'] - claims['iat']}")
    check(body["method"] == "GET" and body["target"] == "/claims?x=1", f"request line {body['method']} {body['target']}")
    check(header_values(body, "Host") == [f"127.0.0.1:{env.upstream.port}"], f"Host {header_values(body, 'Host')}")
    check(header_values(body, "X-Forwarded-Proto") == ["http"], f"X-Forwarded-Proto {header_values(body, 'X-Forwarded-Proto')}")
    check(header_values(body, "X-Forwarded-For") == ["127.0.0.1"], f"X-Forwarded-For {header_values(body, 'X-Forwarded-For')}")
    check(env.authz.stats()["issued"] == 1, "more than one token for one request")


@case
def client_authorization_replaced(env):
    """A client's own Authorization / Proxy-Authorization never reaches the upstream; the bearer does."""
    proxy = env.proxy("replace")
    r = curl("-H", "Authorization: Basic Zm9vOmJhcg==", "-H", "Proxy-Authorization: Basic YTpi",
             "-H", "authorization: Bearer forged.forged.forged", proxy.url + "/replace")
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()}")
    body = json.loads(r.stdout)
    check(body.get("token_valid"), f"upstream rejected: {body.get('reject_reason')}")
    check_bearer_replaced(body, env)
    body = echo(harness.session().get(proxy.url + "/replace2", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, timeout=30))
    check_bearer_replaced(body, env)
    check("eyJhbGciOiJub25lIn0" not in header_values(body, "Authorization")[0], "the client's token was forwarded")


@case
def curl_http10(env):
    """curl --http1.0: answered, and the answer is usable by an HTTP/1.0 client."""
    proxy = env.proxy("http10")
    r = curl("--http1.0", "-i", proxy.url + "/v10")
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()}")
    head, _, payload = r.stdout.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0].decode()
    check(" 200 " in status_line + " ", f"status line {status_line}")
    check(b"transfer-encoding: chunked" not in head.lower(), "chunked response sent to an HTTP/1.0 client")
    body = json.loads(payload)
    check(body["token_valid"], body.get("reject_reason"))


@case
def curl_keepalive(env):
    """curl HTTP/1.1: three requests on one client connection, all with the bearer."""
    proxy = env.proxy("keepalive")
    urls = [proxy.url + f"/ka/{i}" for i in range(3)]
    r = curl("-v", "--http1.1", *urls)
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()[-500:]}")
    err = r.stderr.decode()
    check(err.count("Re-using existing connection") + err.count("Reusing existing connection") >= 2,
          f"curl did not reuse the connection:\n{err[-1500:]}")
    bodies = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
    check(len(bodies) == 3 and all(b["token_valid"] for b in bodies), f"bodies: {bodies}")
    check([b["target"] for b in bodies] == ["/ka/0", "/ka/1", "/ka/2"], "targets mixed up")


def _upload_file(env, size, name):
    path = os.path.join(env.workdir, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(os.urandom(size))
    with open(path, "rb") as f:
        return path, hashlib.sha256(f.read()).hexdigest()


@case
def curl_chunked_upload(env):
    """curl streams a chunked request body (Transfer-Encoding: chunked); the upstream gets every byte."""
    proxy = env.proxy("chunked")
    path, digest = _upload_file(env, 3 * 1024 * 1024 + 17, "upload-3m")
    r = curl("-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
             "--data-binary", "@" + path, proxy.url + "/upload")
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()}")
    body = json.loads(r.stdout)
    check(body["token_valid"], body.get("reject_reason"))
    check(body["method"] == "POST", body["method"])
    check(body["body_length"] == os.path.getsize(path) and body["body_sha256"] == digest,
          f"body arrived as {body['body_length']} bytes, sha {body['body_sha256'][:12]}")


@case
def curl_expect_100_continue(env):
    """Expect: 100-continue upload: the body arrives intact, and the proxy answers 100 (curl would wait 1 s otherwise)."""
    proxy = env.proxy("expect")
    path, digest = _upload_file(env, 2 * 1024 * 1024, "upload-2m")
    started = time.monotonic()
    r = curl("-v", "-H", "Expect: 100-continue", "--expect100-timeout", "5", "--data-binary", "@" + path,
             proxy.url + "/expect")
    elapsed = time.monotonic() - started
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()[-500:]}")
    body = json.loads(r.stdout)
    check(body["token_valid"], body.get("reject_reason"))
    check(body["body_length"] == os.path.getsize(path) and body["body_sha256"] == digest, "body corrupted")
    check(not header_values(body, "Expect"), "Expect reached the upstream after the proxy handled it")
    saw_100 = "HTTP/1.1 100" in r.stderr.decode()
    check(saw_100, f"no 100 Continue from the proxy: curl waited out its expect timeout ({elapsed:.1f}s)")


@case
def curl_head(env):
    """HEAD: the upstream's head (with its Content-Length) comes back, no body, and curl does not hang."""
    proxy = env.proxy("head")
    r = curl("-I", "--max-time", "10", proxy.url + "/head?size=12345")
    check(r.returncode == 0, f"curl -I failed (exit {r.returncode}): {r.stderr.decode()}")
    head = r.stdout.decode().lower()
    check(head.startswith("http/1.1 200"), f"status: {head[:40]}")
    check("content-length: 12345" in head, f"HEAD lost the upstream's Content-Length: {head}")
    r = curl("-I", "--max-time", "10", proxy.url + "/head2?size=777", proxy.url + "/after-head")
    check(r.returncode == 0, f"HEAD then another request on the same connection failed: {r.stderr.decode()}")


@case
def large_responses(env):
    """Large upstream responses, Content-Length and chunked, arrive byte for byte (curl and requests)."""
    proxy = env.proxy("large")
    size = 8 * 1024 * 1024 + 3
    from peers.upstream import pattern_bytes
    digest = hashlib.sha256(pattern_bytes(size)).hexdigest()
    for chunked in ("0", "1"):
        r = curl("--max-time", "60", f"{proxy.url}/big?size={size}&chunked={chunked}")
        check(r.returncode == 0, f"curl failed: {r.stderr.decode()}")
        check(len(r.stdout) == size and hashlib.sha256(r.stdout).hexdigest() == digest,
              f"curl got {len(r.stdout)} bytes (chunked={chunked}), want {size}")
        # An HTTP/1.0 client cannot take chunked: the proxy must de-chunk (and close to delimit).
        r = curl("--http1.0", "-D", "-", "--max-time", "60", f"{proxy.url}/big10?size={size}&chunked={chunked}")
        check(r.returncode == 0, f"curl --http1.0 failed: {r.stderr.decode()}")
        head, _, data = r.stdout.partition(b"\r\n\r\n")
        check(b"transfer-encoding" not in head.lower(), f"chunked sent to an HTTP/1.0 client: {head.decode()}")
        check(len(data) == size and hashlib.sha256(data).hexdigest() == digest,
              f"curl --http1.0 got {len(data)} bytes (chunked={chunked}), want {size}")
        with harness.session() as s:
            resp = s.get(f"{proxy.url}/big?size={size}&chunked={chunked}", stream=True, timeout=60)
            check(resp.status_code == 200, f"status {resp.status_code}")
            data = b"".join(resp.iter_content(65536))
        check(len(data) == size and hashlib.sha256(data).hexdigest() == digest,
              f"requests got {len(data)} bytes (chunked={chunked}), want {size}")


def peak_rss_mib(proxy: Proxy) -> float:
    """VmHWM of the proxy process (peak resident memory), in MiB."""
    with open(f"/proc/{proxy.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@case
def streaming_100mib_bounded_memory(env):
    """100 MiB down (Content-Length and chunked) and 100 MiB up (chunked) stream through; the proxy's peak memory barely moves."""
    proxy = env.proxy("stream100")
    echo(get(proxy, "/warm-up"))
    before = peak_rss_mib(proxy)
    size = 100 * 1024 * 1024
    from peers.upstream import pattern_bytes
    block = pattern_bytes(1024 * 1024)
    want = hashlib.sha256()
    for _ in range(100):
        want.update(block)
    want = want.hexdigest()
    for chunked in ("0", "1"):
        with harness.session() as s:
            resp = s.get(f"{proxy.url}/big?size={size}&chunked={chunked}", stream=True, timeout=120)
            check(resp.status_code == 200, f"status {resp.status_code}")
            got, n = hashlib.sha256(), 0
            for piece in resp.iter_content(1 << 20):
                got.update(piece)
                n += len(piece)
        check(n == size and got.hexdigest() == want, f"download (chunked={chunked}) got {n} bytes, want {size} intact")

    def body():
        for _ in range(100):
            yield block
    with harness.session() as s:
        resp = s.post(f"{proxy.url}/upload", data=body(), timeout=120)
    received = echo(resp)
    check(received["body_length"] == size and received["body_sha256"] == want,
          f"upload arrived as {received['body_length']} bytes, want {size} intact")
    after = peak_rss_mib(proxy)
    # Bodies stream through buffers of a few tens of KiB per connection; 300 MiB moved must not
    # show up in the proxy's memory (allowance for allocator slack and TLS buffers).
    check(after - before < 24, f"peak RSS grew by {after - before:.1f} MiB ({before:.1f} -> {after:.1f}) while streaming")
    print(f"      peak RSS {before:.1f} MiB before, {after:.1f} MiB after 300 MiB streamed")


@case
def target_and_bodyless_statuses(env):
    """The request target reaches the upstream byte for byte; 204 and 304 (no body) do not hang the connection."""
    proxy = env.proxy("target")
    target = "/a%2Fb/%7Euser/caf%C3%A9;p=1?q=%20x+y&empty=&a=1&a=2&slash=/&enc=%3D%26"
    r = curl("--path-as-is", proxy.url + target)
    check(r.returncode == 0, r.stderr.decode())
    body = json.loads(r.stdout)
    check(body["target"] == target, f"target changed: {body['target']!r}, sent {target!r}")
    with harness.session() as s:
        for status in (204, 304, 200, 304):
            resp = s.get(f"{proxy.url}/nobody?status={status}" if status != 200 else f"{proxy.url}/after", timeout=10)
            check(resp.status_code == status, f"expected {status}, got {resp.status_code}")
            if status != 200:
                check(resp.content == b"", f"{status} carried a body: {resp.content[:80]!r}")


@case
def pipelined_and_http10_keepalive(env):
    """Three requests written at once (pipelining) come back in order; an HTTP/1.0 client asking for
    keep-alive either keeps the connection or closes it cleanly, and gets every answer."""
    import socket
    proxy = env.proxy("pipeline")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
        batch = b"".join(f"GET /pipe/{i} HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\n\r\n".encode() for i in range(3))
        sock.sendall(batch)
        data = b""
        deadline = time.monotonic() + 20
        while data.count(b'"target": "/pipe/') < 3 and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    targets = [t.split(b'"')[0].decode() for t in data.split(b'"target": "')[1:]]
    check(targets == ["/pipe/0", "/pipe/1", "/pipe/2"], f"pipelined answers: {targets} ({data.count(b'HTTP/1.1 200')} x 200)")
    r = curl("-v", "--http1.0", "-H", "Connection: keep-alive", proxy.url + "/ka10/0", proxy.url + "/ka10/1")
    check(r.returncode == 0, f"curl failed: {r.stderr.decode()[-600:]}")
    bodies = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
    check([b["target"] for b in bodies] == ["/ka10/0", "/ka10/1"], f"HTTP/1.0 keep-alive answers: {bodies}")
    # As ab and older Java and PHP stacks do: HTTP/1.0 with keep-alive keeps one connection.
    check(b"Re-using existing connection" in r.stderr or b"Reusing existing connection" in r.stderr,
          f"curl opened a new connection for the second HTTP/1.0 keep-alive request: {r.stderr.decode()[-800:]}")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
        reader = sock.makefile("rb")
        for i in range(3):
            sock.sendall(f"GET /ka10raw/{i} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".encode())
            status = reader.readline()
            fields = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                fields[name.strip().lower()] = value.strip()
            body = reader.read(int(fields.get("content-length", "0")))
            check(status.startswith(b"HTTP/1.1 200"), f"HTTP/1.0 keep-alive request {i}: {status!r}")
            check(fields.get("connection", "").lower() == "keep-alive",
                  f"HTTP/1.0 keep-alive request {i} answered Connection: {fields.get('connection')!r}")
            check(json.loads(body)["target"] == f"/ka10raw/{i}", f"answer {i}: {body[:200]!r}")


@case
def upstream_closes_idle_connections(env):
    """nginx closes idle keep-alive connections after 1 s (keepalive_timeout 1s): requests after the
    idle time, with and without a body, still get 200 — never a 502 from a stale pooled connection."""
    proxy = env.proxy("idleclose", upstream_url=env.upstream.short_url)
    failures = []
    with harness.session() as s:
        for i in range(3):
            for method, data in (("GET", None), ("POST", b"body after idle %d" % i)):
                r = s.request(method, f"{proxy.url}/idle/{i}/{method}", data=data, timeout=30)
                if r.status_code != 200:
                    failures.append(f"{method} after {1.6 if i else 0}s idle: {r.status_code} {r.text[:160]}")
                time.sleep(1.6)
    check(not failures, "; ".join(failures))


@case
def python_requests_session(env):
    """requests.Session: keep-alive GETs, a JSON POST and a streamed (chunked) generator body."""
    proxy = env.proxy("requests")
    with harness.session() as s:
        for i in range(5):
            body = echo(s.get(f"{proxy.url}/s/{i}", timeout=30))
            check(body["target"] == f"/s/{i}", body["target"])
        payload = json.dumps({"hello": "wörld", "n": list(range(100))}).encode()
        body = echo(s.post(f"{proxy.url}/json", data=payload, headers={"Content-Type": "application/json"}, timeout=30))
        check(body["body_sha256"] == hashlib.sha256(payload).hexdigest(), "JSON body changed")
        chunks = [os.urandom(1000 + i * 37) for i in range(50)]
        body = echo(s.put(f"{proxy.url}/stream", data=iter(chunks), timeout=30))
        whole = b"".join(chunks)
        check(body["method"] == "PUT" and body["body_length"] == len(whole)
              and body["body_sha256"] == hashlib.sha256(whole).hexdigest(), "streamed body changed")
    check(env.authz.stats()["issued"] == 1, f"{env.authz.stats()['issued']} tokens for one session")


@case
def token_response_variants(env):
    """Token answers shaped like other servers': expires_in as a string, token_type "bearer",
    a charset parameter, unknown extra fields, a chunked body. Each must give a working token."""
    failures = []
    for shape in (["expires_in_string"], ["token_type_lowercase"], ["charset"], ["extra_fields"], ["chunked"],
                  ["chunked", "charset", "expires_in_string", "token_type_lowercase", "extra_fields"]):
        env.authz.set(shape=shape)
        proxy = env.proxy("shape-" + "-".join(shape))
        r = get(proxy, "/shape")
        if r.status_code != 200:
            failures.append(f"{'+'.join(shape)}: {r.status_code} {r.text[:200]}")
        proxy.stop()
    check(not failures, "; ".join(failures))


@case
def lifetime_from_jwt_exp(env):
    """No expires_in in the answer: the lifetime comes from the JWT's exp (3 s), not the 5 min default,
    so no expired token reaches the upstream over 8 s of requests."""
    env.authz.set(expires_in=3, shape=["no_expires_in"])
    proxy = env.proxy("jwtexp")
    codes = []
    stop_at = time.monotonic() + 8
    with harness.session() as s:
        while time.monotonic() < stop_at:
            r = s.get(f"{proxy.url}/exp", timeout=15)
            codes.append(r.status_code if r.status_code == 200 else f"{r.status_code} {r.json().get('reject_reason') or r.text[:120]}")
            time.sleep(0.1)
    bad = [c for c in codes if c != 200]
    check(not bad, f"{len(bad)} of {len(codes)} failed, first: {bad[:2]}")
    check(env.authz.stats()["issued"] >= 3, f"only {env.authz.stats()['issued']} tokens in 8 s of 3 s JWTs")


@case
def refresh_under_steady_load(env):
    """4 s tokens, a token endpoint that takes 0.25 s, 4 clients for 13 s: each new token is fetched
    while the previous one is still valid (proactive refresh), and every client answer is 200."""
    lifetime, delay = 4, 0.25
    env.authz.set(expires_in=lifetime, delay=delay)
    proxy = env.proxy("refresh")
    statuses, latencies, errors = [], [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + 13

    def worker(n):
        first = True
        with harness.session() as s:
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    r = s.get(f"{proxy.url}/load/{n}", timeout=15)
                    code = r.status_code
                    if code != 200:
                        with lock:
                            errors.append(f"{code} {r.headers.get('WWW-Authenticate') or r.text[:200]}")
                except requests.RequestException as e:
                    code = f"exception {e}"
                    with lock:
                        errors.append(code)
                with lock:
                    statuses.append(code)
                    if not first:  # the first request of each client waits for the first token
                        latencies.append(time.monotonic() - started)
                first = False
                time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = env.authz.stats()
    tokens = env.upstream.stats()["tokens_seen"]
    check(not errors, f"{len(errors)} of {len(statuses)} requests failed, first: {errors[:3]}")
    check(stats["token_requests"] == stats["issued"], "some token requests failed")
    check(len(tokens) >= 3, f"only {len(tokens)} distinct tokens reached the upstream over 13 s of {lifetime} s lifetimes")
    check(stats["issued"] <= 6, f"{stats['issued']} tokens in 13 s with {lifetime} s lifetimes: refreshing too often")
    # Each answer is logged after the delay; its request started `delay` earlier. A proactive refresh
    # starts before the previous token expires (its lifetime counts from the previous request's start).
    times = [e["t"] for e in stats["events"]]
    for previous, current in zip(times, times[1:]):
        previous_expiry = previous - delay + lifetime
        check(current - delay < previous_expiry,
              f"a token request started {current - delay - previous_expiry:.2f}s after the previous token expired")
    slowest = max(latencies)
    check(slowest < 2.0, f"slowest request took {slowest:.2f}s")
    print(f"      {len(statuses)} requests, {stats['issued']} tokens, slowest after warm-up {slowest * 1000:.0f} ms")


@case
def single_flight_burst(env):
    """64 concurrent first requests while the token endpoint takes 1 s: exactly one token request."""
    env.authz.set(delay=1.0)
    proxy = env.proxy("burst")
    results = burst([f"{proxy.url}/burst/{n}" for n in range(64)], lambda body: body.get("token_valid"))
    bad = [r for r in results if r != (200, True)]
    check(not bad, f"{len(bad)} of 64 failed: {bad[:3]}")
    stats = env.authz.stats()
    check(stats["token_requests"] == 1, f"{stats['token_requests']} token requests for one burst")


@case
def shared_cache_three_replicas(env):
    """token.shared_cache with a real redis-server: three proxies asked at once while Authlib takes
    1 s make one token request, and every caller's request carries the same token (jti). A fourth
    proxy started later takes it from Redis, and the stored value does not contain the token."""
    port = harness.free_port()
    redis = harness.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                           "--dir", env.workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        harness.wait_for_port(port, 10, redis)
        key_file = os.path.join(env.workdir, "shared-cache-key")
        with open(key_file, "wb") as f:
            f.write(os.urandom(32))
        token = env.token(shared_cache={"url": f"redis://127.0.0.1:{port}/3", "key_file": key_file})
        env.authz.set(delay=1.0)
        proxies = [env.proxy(f"shared-{i}", token) for i in range(3)]
        results = burst([f"{proxies[n % 3].url}/shared/{n}" for n in range(9)], lambda body: body["token_claims"].get("jti"))
        check(all(status == 200 for status, _ in results), f"callers: {results}")
        check(len({jti for _, jti in results}) == 1, f"callers got different tokens: {results}")
        check(token_attempts(env) == 1, f"{token_attempts(env)} token requests for three replicas")
        late = env.proxy("shared-late", token)
        body = echo(get(late, "/shared/late"))
        check(body["token_claims"].get("jti") == results[0][1], "the late replica did not take the shared token")
        check(token_attempts(env) == 1, f"{token_attempts(env)} token requests after the late replica")
        keys = subprocess.run(["redis-cli", "-p", str(port), "-n", "3", "--raw", "KEYS", "*"],
                              capture_output=True, text=True, timeout=5).stdout.split()
        check(len(keys) == 1 and keys[0].startswith("bearer-proxy:token:"), f"keys in Redis: {keys}")
        stored = subprocess.run(["redis-cli", "-p", str(port), "-n", "3", "--raw", "GET", keys[0]],
                                capture_output=True, timeout=5).stdout
        jwt = header_values(body, "Authorization")[0].split(" ", 1)[1]
        check(jwt.encode() not in stored and jwt.split(".")[1].encode() not in stored,
              "the stored value holds the JWT in clear text")
    finally:
        harness.stop(redis)


@case
def authz_down_at_start(env):
    """No authorization server at start: 503 + Retry-After, backoff (no tight loop), recovery without restart."""
    port = harness.free_port()
    proxy = env.proxy("down", env.token(url=f"https://127.0.0.1:{port}/token"))
    started = time.monotonic()
    afters = []
    while time.monotonic() - started < 4:
        afters.append(expect_503(get(proxy, "/down")))
        time.sleep(0.2)
    check(all(1 <= a <= 30 for a in afters), f"Retry-After values {afters}")
    failures = log_has(proxy, "token fetch failed")
    check(failures, "no 'token fetch failed' log line while the authorization server is down")
    check("unreachable" in json.dumps(failures[0]), f"log does not say unreachable: {failures[0]}")
    check(len(failures) <= 5, f"{len(failures)} token attempts in 4 s: not backing off")
    late = AuthServer(env.workdir, env.pki, env.clients, env.signing_key, port=port, name="authz-late",
                      issuer=env.authz.issuer)
    env.extra.append(late)
    r, recovered = await_recovery(proxy, "/down", time.monotonic(), 40, "the authorization server came up")
    echo(r)
    check(proxy.alive(), "proxy is not running")
    check(late.stats()["token_requests"] == 1, f"{late.stats()['token_requests']} token requests after recovery")
    print(f"      recovered {recovered:.1f}s after the authorization server came up")


@case
def authz_rejects_client(env):
    """Authlib rejects our secret (401 invalid_client): clear log, 503 + Retry-After, slow retries only."""
    proxy = env.proxy("reject", env.token(client_secret_file=env.wrong_secret_file))
    started = time.monotonic()
    afters = []
    while time.monotonic() - started < 4:
        afters.append(expect_503(get(proxy, "/reject")))
        time.sleep(0.1)
    attempts = token_attempts(env)
    check(attempts <= 4, f"{attempts} token requests for {len(afters)} client requests in 4 s: retry loop")
    events = env.authz.stats()["events"]
    check(events and events[0]["outcome"] == "401" and events[0]["error"] == "invalid_client",
          f"Authlib did not reject as expected: {events[:1]}")
    lines = log_has(proxy, "token fetch failed", "401", "invalid_client")
    check(lines, f"no log line naming 401 invalid_client: {proxy.log_text()[-1500:]}")
    description = events[0]["error_description"]
    check(description and description in json.dumps(lines[0], ensure_ascii=False),
          f"log line lacks Authlib's error_description {description!r}: {lines[0]}")
    check(lines[0].get("level") in ("error", "critical", "warning"), f"log level {lines[0].get('level')}")
    no_secret_in_log(proxy, "not-the-secret-Zq9", *SECRETS.values())


def _credential_forms(client, secret, method):
    """Every form in which a token request carries `secret`: as it is, form-encoded (both hex
    cases), Base64 alone, and the Basic credentials the request sent."""
    from urllib.parse import quote
    encoded = quote(secret, safe="-._~")
    forms = {secret, encoded, encoded.lower(), base64.b64encode(secret.encode()).decode()}
    if method == "client_secret_basic":
        pair = quote(client, safe="-._~") + ":" + encoded
        forms |= {pair, base64.b64encode(pair.encode()).decode()}
    return forms


@case
def authz_echoes_credentials(env):
    """A token endpoint that copies the Basic header and the posted secret into error_description:
    neither the log, nor /readyz, nor the 503 body local callers get may repeat any form of them."""
    env.authz.set(mode="echo_credentials")
    for client, method in (("basic-client", "client_secret_basic"), ("post-client", "client_secret_post")):
        proxy = env.proxy("echo-" + method, env.token(client=client, method=method), admin=True)
        bodies = [get(proxy, "/echo").text]
        lines = []
        deadline = time.monotonic() + 10
        while not lines and time.monotonic() < deadline:
            lines = log_has(proxy, "token fetch failed", "invalid_client")
            time.sleep(0.1)
        check(lines, f"{method}: no log line for the rejected token request")
        bodies.append(harness.session().get(proxy.admin_url + "/readyz", timeout=10).text)
        texts = bodies + [proxy.log_text()] + [json.dumps(e, ensure_ascii=False) for e in proxy.log()]
        for form in _credential_forms(client, SECRETS[client], method):
            for text in texts:
                check(form not in text, f"{method}: a form of the secret ({len(form)} chars) reached "
                      f"{'a caller' if text in bodies else 'the log'}")
        check("[redacted]" in json.dumps(lines[0], ensure_ascii=False), f"{method}: no [redacted] in {lines[0]}")
        proxy.stop()


@case
def authz_error_in_200(env):
    """A 200 carrying {"error": "invalid_client"} and no token is the error answer: 503 to callers, the
    log names invalid_client as a configuration error, and it is retried slowly (not in a loop)."""
    env.authz.set(mode="error_in_200")
    proxy = env.proxy("error200")
    started = time.monotonic()
    while time.monotonic() - started < 3:
        expect_503(get(proxy, "/e200"))
        time.sleep(0.1)
    lines = log_has(proxy, "token fetch failed", "invalid_client", "configuration")
    check(lines, f"no log line naming invalid_client as a configuration error: {proxy.log_text()[-1200:]}")
    check(token_attempts(env) <= 2, f"{token_attempts(env)} token requests in 3 s: not backing off slowly")


@case
def uploads_while_token_unavailable(env):
    """While no token can be had, uploads get the 503 (with Retry-After), not a reset and not a hang:
    with Expect: 100-continue, with a Content-Length body and with a chunked body, each 8 MiB."""
    env.authz.set(mode="invalid_client")
    proxy = env.proxy("upload503")
    path, _ = _upload_file(env, 8 * 1024 * 1024, "upload-8m")
    failures = []
    for label, extra in (("expect", ["-H", "Expect: 100-continue"]), ("content-length", ["-H", "Expect:"]),
                         ("chunked", ["-H", "Expect:", "-H", "Transfer-Encoding: chunked"])):
        started = time.monotonic()
        r = curl("-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", *extra, "--data-binary", "@" + path,
                 proxy.url + "/upload503")
        elapsed = time.monotonic() - started
        code = r.stdout.decode().strip()
        if r.returncode != 0 or code != "503" or elapsed > 10:
            failures.append(f"{label}: curl exit {r.returncode}, status {code or '-'}, {elapsed:.1f}s, "
                            f"{r.stderr.decode().strip()[-160:]}")
    check(not failures, "; ".join(failures))


@case
def authz_server_error_then_recovery(env):
    """The token endpoint answers 500: 503 + Retry-After meanwhile; recovery when it is fixed."""
    env.authz.set(mode="fail500")
    proxy = env.proxy("fail500")
    expect_503(get(proxy, "/500"))
    check(log_has(proxy, "token fetch failed", "500"), "no log line naming the 500")
    env.authz.set(mode="ok")
    r, _ = await_recovery(proxy, "/500", time.monotonic(), 35, "the fix")
    echo(r)


@case
def authz_slow_beyond_timeout(env):
    """Token endpoint slower than token.timeout: the caller gets 503 after about the timeout, not later."""
    env.authz.set(delay=4.0)
    proxy = env.proxy("slow", env.token(timeout="1s"))
    started = time.monotonic()
    expect_503(get(proxy, "/slow"))
    elapsed = time.monotonic() - started
    check(elapsed < 2.5, f"503 after {elapsed:.1f}s with token.timeout 1s")
    check(log_has(proxy, "token fetch failed"), "no log line for the timed-out token request")


@case
def upstream_401_new_token_one_retry(env):
    """Upstream rejects the current token (401 invalid_token): new token, body-less request retried
    once, 200. A small POST is replayed too, its body intact. A POST over replay_body_limit gets the
    401, and the next request has a new token. Every token rejected: the 401 goes to the client
    after at most one retry, and a storm of 401s costs at most one token request per
    token.min_request_interval."""
    interval = 1.0
    proxy = env.proxy("retry401", env.token(min_request_interval=f"{interval}s"))
    first = echo(get(proxy, "/r401/warm"))
    time.sleep(interval + 0.5)
    env.upstream.call("revoke")
    before = env.authz.stats()["issued"]
    r = get(proxy, "/r401/a")
    seen = [q for q in env.upstream.stats()["requests"] if q["target"] == "/r401/a"]
    issued = env.authz.stats()["issued"] - before
    check(r.status_code == 200, f"expected 200 after a retry with a new token, got {r.status_code} "
          f"(upstream saw {[q['status'] for q in seen]}, {issued} new tokens): {r.text[:300]}")
    body = echo(r)
    check(body["token_claims"]["jti"] != first["token_claims"]["jti"], "retried with the revoked token")
    check([q["status"] for q in seen] == [401, 200], f"upstream saw {[q['status'] for q in seen]} for one request")
    check(issued == 1, f"{issued} new tokens for one 401")

    time.sleep(interval + 0.5)
    env.upstream.call("revoke")
    payload = b"small body"
    r = harness.session().post(proxy.url + "/r401/post", data=payload, timeout=30)
    seen = [q["status"] for q in env.upstream.stats()["requests"] if q["target"] == "/r401/post"]
    check(r.status_code == 200, f"a small POST must be replayed with a new token (replay_body_limit): "
          f"{r.status_code}, upstream saw {seen}")
    replayed = echo(r)
    check(replayed["body_sha256"] == hashlib.sha256(payload).hexdigest(), "replayed POST body changed")
    check(seen == [401, 200], f"upstream saw {seen} for one POST")
    check(replayed["token_claims"]["jti"] != body["token_claims"]["jti"], "POST replayed with the revoked token")

    # A body over replay_body_limit gets the 401, but the rejected token is dropped: the next
    # request carries a new one (a POST-only client is never locked out).
    time.sleep(interval + 0.5)
    env.upstream.call("revoke")
    large = os.urandom(70 * 1024)
    r = harness.session().post(proxy.url + "/r401/large", data=large, timeout=30)
    seen = [q["status"] for q in env.upstream.stats()["requests"] if q["target"] == "/r401/large"]
    check(r.status_code == 401 and seen == [401], f"large POST: {r.status_code}, upstream saw {seen}")
    after = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = harness.session().post(proxy.url + "/r401/after-large", data=large, timeout=30)
        if r.status_code == 200:
            after = echo(r)
            break
        time.sleep(0.2)
    check(after is not None, "the token rejected on the large POST is still in use")
    check(after["token_claims"]["jti"] != replayed["token_claims"]["jti"], "the rejected token is still in use")

    time.sleep(interval + 0.5)
    env.upstream.call("reject_all")
    before = env.authz.stats()["token_requests"]
    r = get(proxy, "/r401/never")
    check(r.status_code == 401, f"expected the upstream's 401 relayed, got {r.status_code}")
    check("invalid_token" in r.headers.get("WWW-Authenticate", ""), "WWW-Authenticate not relayed")
    seen = [q for q in env.upstream.stats()["requests"] if q["target"] == "/r401/never"]
    check(1 <= len(seen) <= 2, f"upstream saw {len(seen)} attempts of one request")
    # A storm: 40 requests in about 0.5 s, every one rejected.
    statuses = []
    lock = threading.Lock()

    def one(n):
        code = harness.session().get(f"{proxy.url}/r401/storm/{n}", timeout=30).status_code
        with lock:
            statuses.append(code)

    storm_started = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
        time.sleep(0.0125)
    for t in threads:
        t.join()
    storm_seconds = time.monotonic() - storm_started
    extra = env.authz.stats()["token_requests"] - before
    allowed = 1 + int(storm_seconds / interval) + 1
    check(set(statuses) == {401}, f"storm statuses {sorted(set(statuses))}")
    check(extra <= allowed, f"{extra} token requests during {storm_seconds:.1f}s of rejected requests "
          f"(min_request_interval {interval}s allows {allowed})")


@case
def upstream_401_storm_log_volume(env):
    """Every token rejected, 40 requests in about 0.5 s: the log says so a few times, not once per
    request (one warning per rejected request is a log flood at production rates)."""
    proxy = env.proxy("storm-log", env.token(min_request_interval="1s"))
    echo(get(proxy, "/storm/warm"))
    time.sleep(1.5)
    env.upstream.call("reject_all")
    mark = len(proxy.log())

    def one(n):
        harness.session().get(f"{proxy.url}/storm/{n}", timeout=30)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
        time.sleep(0.0125)
    for t in threads:
        t.join()
    time.sleep(0.2)
    loud = [e for e in proxy.log()[mark:] if e.get("level") in ("warning", "error", "critical")]
    messages = sorted({e.get("msg") for e in loud})
    check(len(loud) <= 5, f"{len(loud)} warning/error lines for 40 rejected requests in ~0.5 s: {messages}")


@case
def wrong_upstream_ca(env):
    """Upstream verified against the wrong CA: 502 naming the verification failure; nothing sent."""
    proxy = env.proxy("wrongca", upstream_ca=env.wrong_ca.cert_file)
    r = get(proxy, "/wrong-ca")
    check(r.status_code == 502, f"expected 502, got {r.status_code}: {r.text[:300]}")
    body = r.json()
    check(body.get("error") == "upstream_unavailable", f"body {body}")
    check("certificate verify failed" in body.get("detail", ""), f"detail does not name the verification failure: {body}")
    check(log_has(proxy, "certificate verify failed"), "log does not name the verification failure")
    check(not [q for q in env.upstream.stats()["requests"] if q["target"] == "/wrong-ca"], "request reached the upstream")


@case
def wrong_token_endpoint_ca(env):
    """Token endpoint verified against the wrong CA: 503, log names the verification failure, secret not sent."""
    proxy = env.proxy("wrongtokenca", env.token(ca_file=env.wrong_ca.cert_file))
    expect_503(get(proxy, "/wrong-token-ca"))
    check(log_has(proxy, "token fetch failed", "certificate verify failed"),
          f"log does not name the verification failure: {proxy.log_text()[-800:]}")
    check(token_attempts(env) == 0, "a token request reached the authorization server")


# ---------------------------------------------------------------- routes (issue 14)

def _two_profiles(env, name, admin=False, **crm_authz_settings):
    """Two token profiles against two token endpoints: `payments` (basic-client at the first
    authorization server) for the path route /payments/, sent to the first upstream's /v2 with the
    prefix stripped; `crm` (post-client at the second) for the host route crm.example.com, sent to
    the second upstream. Each upstream accepts only its own server's tokens. `crm_authz_settings`
    go to the second authorization server before the proxy starts."""
    crm_authz, crm_upstream = env.crm()
    if crm_authz_settings:
        crm_authz.set(**crm_authz_settings)
    tokens = {
        "payments": env.token("basic-client", "client_secret_basic"),
        "crm": env.token("post-client", "client_secret_post", url=crm_authz.token_url),
    }
    routes = [
        {"name": "payments", "match": {"path_prefix": "/payments/"}, "url": env.upstream.url + "/v2",
         "token": "payments", "strip_prefix": True},
        {"name": "crm", "match": {"host": "crm.example.com"}, "url": crm_upstream.url, "token": "crm"},
    ]
    return env.routed_proxy(name, tokens, routes, admin=admin), crm_authz, crm_upstream


def _from_profile(body, authz, client, what):
    claims = body["token_claims"]
    check(claims["iss"] == authz.issuer and claims["client_id"] == client,
          f"{what}: token of {claims['client_id']} from {claims['iss']}, want {client} from {authz.issuer}")


def _targets(upstream) -> list[str]:
    return [q["target"] for q in upstream.stats()["requests"]]


def _refused(response, status, error, what) -> dict:
    check(response.status_code == status, f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}")
    body = response.json()
    check(body.get("error") == error, f"{what}: body {body}")
    return body


def _one_token_each(env, crm_authz):
    for authz, method in ((env.authz, "client_secret_basic"), (crm_authz, "client_secret_post")):
        stats = authz.stats()
        methods = [e.get("method") for e in stats["events"]]
        check(stats["issued"] == 1 and methods == [method],
              f"{authz.url}: {stats['issued']} tokens, methods {methods}; want one, by {method}")


@case
def routes_http_proxy_requests(env):
    """Python requests with the proxy as its http_proxy: http://crm.example.com/... (absolute-form,
    routed by that authority) reaches the crm upstream with a token of the second authorization
    server; /payments/... (absolute-form and origin-form) reaches the first upstream's /v2 with a
    token of the first; one token per profile. A host no route names gets 421, an accepted host with
    a path no route takes gets 404 no_route, and neither reaches an upstream."""
    proxy, crm_authz, crm_upstream = _two_profiles(env, "routes-requests")
    via = {"http": proxy.url}
    with harness.session() as s:
        crm = echo(s.get("http://crm.example.com/v1/customers?id=7", proxies=via, timeout=30))
        note = b'{"note": "caf\xc3\xa9"}'
        crm_post = echo(s.post("http://crm.example.com/v1/notes", data=note, proxies=via, timeout=30))
        pay = echo(s.get("http://localhost/payments/invoices/42?full=1", proxies=via, timeout=30))
        pay_origin = echo(s.get(proxy.url + "/payments/refunds", timeout=30))
        # Origin-form with the route's host in Host: routed by Host.
        by_host = echo(s.get(proxy.url + "/v1/by-host", headers={"Host": "crm.example.com"}, timeout=30))

        for body, target in ((crm, "/v1/customers?id=7"), (crm_post, "/v1/notes"), (by_host, "/v1/by-host")):
            check(body["target"] == target, f"crm route: upstream got {body['target']!r}, want {target!r}")
            _from_profile(body, crm_authz, "post-client", target)
            check(header_values(body, "Host") == [f"127.0.0.1:{crm_upstream.port}"], f"{target}: Host {header_values(body, 'Host')}")
            check(header_values(body, "X-Forwarded-Host") == ["crm.example.com"],
                  f"{target}: X-Forwarded-Host {header_values(body, 'X-Forwarded-Host')}")
            check_bearer_replaced(body, env)
        check(crm_post["method"] == "POST" and crm_post["body_sha256"] == hashlib.sha256(note).hexdigest(),
              "POST body changed on the crm route")
        for body, target in ((pay, "/v2/invoices/42?full=1"), (pay_origin, "/v2/refunds")):
            check(body["target"] == target, f"payments route: upstream got {body['target']!r}, want {target!r}")
            _from_profile(body, env.authz, "basic-client", target)
            check(header_values(body, "Host") == [f"127.0.0.1:{env.upstream.port}"], f"{target}: Host {header_values(body, 'Host')}")

        # A host no route names (nor allowed_hosts): 421, even where a host-less route takes the path.
        _refused(s.get("http://other.example.org/payments/x", proxies=via, timeout=30), 421, "misdirected_request",
                 "absolute-form to other.example.org")
        _refused(s.get(proxy.url + "/payments/x", headers={"Host": "other.example.org"}, timeout=30), 421,
                 "misdirected_request", "Host: other.example.org")
        # An accepted host, a path no route takes: 404 naming both.
        body = _refused(s.get("http://localhost/unrouted/x?q=1", proxies=via, timeout=30), 404, "no_route",
                        "http://localhost/unrouted/x")
        check(body.get("host") == "localhost" and body.get("path") == "/unrouted/x", f"404 body {body}")
        # The route's host on a port that route does not take is not accepted at all (421), so it
        # cannot reach a host-less route with another profile's token either.
        _refused(s.get("http://crm.example.com:8443/payments/x", proxies=via, timeout=30), 421, "misdirected_request",
                 "http://crm.example.com:8443/payments/x")
        # The connection still serves after the refusals.
        echo(s.get("http://crm.example.com/v1/after", proxies=via, timeout=30))

    got_crm, got_pay = _targets(crm_upstream), _targets(env.upstream)
    check(got_crm == ["/v1/customers?id=7", "/v1/notes", "/v1/by-host", "/v1/after"], f"crm upstream saw {got_crm}")
    check(got_pay == ["/v2/invoices/42?full=1", "/v2/refunds"], f"payments upstream saw {got_pay}")
    _one_token_each(env, crm_authz)



@case
def routes_http_proxy_curl(env):
    """curl with -x and with http_proxy set: http://crm.example.com/... reaches the crm upstream with
    the crm profile's token, http://localhost/payments/... the payments one; a host no route names is
    421. curl -x (and https_proxy) with an https:// URL sends CONNECT: the proxy answers 405 (its body
    says to use http:// URLs), curl fails the tunnel, and nothing reaches an upstream."""
    proxy, crm_authz, crm_upstream = _two_profiles(env, "routes-curl")
    from_env = {"http_proxy": proxy.url}
    for args, env_vars, target in (
            (["-x", proxy.url, "http://crm.example.com/v1/curl-x?a=1"], None, "/v1/curl-x?a=1"),
            (["http://crm.example.com/v1/curl-env"], from_env, "/v1/curl-env")):
        r = curl_via(*args, env=env_vars)
        check(r.returncode == 0, f"curl {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()[-400:]}")
        body = json.loads(r.stdout)
        check(body.get("token_valid"), f"{target}: upstream rejected: {body.get('reject_reason')}")
        check(body["target"] == target, f"upstream got {body['target']!r}, want {target!r}")
        _from_profile(body, crm_authz, "post-client", target)
    r = curl_via("http://localhost/payments/curl-env", env=from_env)
    check(r.returncode == 0, f"curl with http_proxy to /payments/: {r.stderr.decode()[-400:]}")
    body = json.loads(r.stdout)
    check(body.get("token_valid") and body["target"] == "/v2/curl-env", f"payments route: {body.get('target')} {body.get('reject_reason')}")
    _from_profile(body, env.authz, "basic-client", "/v2/curl-env")
    for args, env_vars in ((["-x", proxy.url], None), ([], from_env)):
        r = curl_via("-o", "/dev/null", "-w", "%{http_code}", *args, "http://unknown.example.org/v1/x", env=env_vars)
        check(r.stdout.decode() == "421", f"unknown host ({'-x' if args else 'http_proxy'}): status {r.stdout.decode()!r}")

    for args, env_vars, what in ((["-x", proxy.url], None, "-x"), ([], {"https_proxy": proxy.url}, "https_proxy")):
        r = curl_via("-v", "--max-time", "10", "-w", "%{http_connect}", *args, "https://crm.example.com/v1/tunnel", env=env_vars)
        err = r.stderr.decode(errors="replace")
        check(r.returncode != 0, f"curl ({what}) through a refused CONNECT exited 0")
        check("CONNECT crm.example.com:443" in err, f"curl ({what}) sent no CONNECT: {err[-600:]}")
        check(r.stdout.decode() == "405" and re.search(r"< HTTP/1\.1 405", err),
              f"CONNECT ({what}) answered {r.stdout.decode()!r}, want 405: {err[-600:]}")
    # What curl does not show: the 405's body, which says what to do instead.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(b"CONNECT crm.example.com:443 HTTP/1.1\r\nHost: crm.example.com:443\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 405"), f"raw CONNECT: {head[:100]!r}")
    detail = json.loads(payload).get("detail", "")
    check("http://" in detail, f"the 405 does not say to send http:// URLs: {detail!r}")
    check(len(log_has(proxy, "rejected request", "CONNECT is not proxied")) == 3,
          f"not one log line per refused CONNECT: {proxy.log_text()[-800:]}")

    got_crm, got_pay = _targets(crm_upstream), _targets(env.upstream)
    check(got_crm == ["/v1/curl-x?a=1", "/v1/curl-env"], f"crm upstream saw {got_crm}")
    check(got_pay == ["/v2/curl-env"], f"payments upstream saw {got_pay}")
    _one_token_each(env, crm_authz)


@case
def routes_profile_isolation_admin(env):
    """The crm profile's token endpoint fails (500) from the start: crm requests get 503, payments
    requests still get 200 with their own token. /readyz is 503 and says which profile fails;
    /metrics counts requests per route (refused and unrouted ones under route="none") and token
    fetches per profile."""
    proxy, crm_authz, crm_upstream = _two_profiles(env, "routes-admin", admin=True, mode="fail500")
    via = {"http": proxy.url}
    with harness.session() as s:
        expect_503(s.get("http://crm.example.com/v1/down", proxies=via, timeout=30))
        for path in ("/payments/a", "/payments/b"):
            _from_profile(echo(s.get(proxy.url + path, timeout=30)), env.authz, "basic-client", path)
        _refused(s.get("http://other.example.org/payments/x", proxies=via, timeout=30), 421, "misdirected_request",
                 "absolute-form to other.example.org")
        _refused(s.get("http://localhost/unrouted", proxies=via, timeout=30), 404, "no_route", "http://localhost/unrouted")
    check(_targets(crm_upstream) == [], f"crm upstream saw {_targets(crm_upstream)} without a token")

    ready = harness.session().get(proxy.admin_url + "/readyz", timeout=10)
    body = ready.json()
    states = {name: p.get("state") for name, p in body.get("profiles", {}).items()}
    check(ready.status_code == 503 and states == {"payments": "valid", "crm": "failing"},
          f"/readyz {ready.status_code}, profiles {states}, want 503 with payments valid and crm failing: {ready.text[:400]}")
    check("crm" in body.get("reason", ""), f"/readyz reason does not name the failing profile: {body.get('reason')!r}")

    metrics = harness.session().get(proxy.admin_url + "/metrics", timeout=10).text

    def total(name, **labels):
        """The sum over the series of `name` with these labels (and any others); None if there is none."""
        values = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                  if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())]
        return sum(values) if values else None

    counts = {
        "route payments 2xx": (total("bearer_proxy_requests_total", route="payments", status_class="2xx"), 2),
        "route crm 5xx": (total("bearer_proxy_requests_total", route="crm", status_class="5xx"), 1),
        "route none 4xx (the 421 and the 404)": (total("bearer_proxy_requests_total", route="none", status_class="4xx"), 2),
        "profile payments success": (total("bearer_proxy_token_fetches_total", profile="payments", outcome="success"), 1),
        "profile crm success": (total("bearer_proxy_token_fetches_total", profile="crm", outcome="success"), 0),
    }
    wrong = [f"{what}: {got}, want {want}" for what, (got, want) in counts.items() if got != want]
    failures = total("bearer_proxy_token_fetches_total", profile="crm", outcome="failure")
    if not failures:
        wrong.append(f"profile crm failure: {failures}, want at least 1")
    check(not wrong, "/metrics: " + "; ".join(wrong))


@case
def routes_strip_prefix(env):
    """strip_prefix true: /strip/a goes up as /v2/a; false: /keep/a as /v2/keep/a; the longest
    prefix wins (/strip/deeper/ to /v3); a prefix without "/" (/bare) takes /bare itself (as "/")
    and /bare/x, not /barex. Origin-form (curl --path-as-is) and absolute-form (requests via the
    proxy) alike; the query and escapes are kept byte for byte; unrouted paths reach nothing."""
    up = env.upstream.url
    routes = [
        {"name": "strip", "match": {"path_prefix": "/strip/"}, "url": up + "/v2", "strip_prefix": True, "token": "main"},
        {"name": "keep", "match": {"path_prefix": "/keep/"}, "url": up + "/v2", "strip_prefix": False},
        {"name": "deeper", "match": {"path_prefix": "/strip/deeper/"}, "url": up + "/v3", "strip_prefix": True},
        {"name": "bare", "match": {"path_prefix": "/bare"}, "url": up, "strip_prefix": True},
    ]
    proxy = env.routed_proxy("routes-strip", {"main": env.token()}, routes)
    expected = [
        ("/strip/a/b?q=1&r=%20", "/v2/a/b?q=1&r=%20"),
        ("/strip/", "/v2/"),
        ("/strip/caf%C3%A9;p=1/%7Eu", "/v2/caf%C3%A9;p=1/%7Eu"),
        ("/strip/deeper/x?y", "/v3/x?y"),
        ("/strip/deeperx", "/v2/deeperx"),
        ("/keep/a?x=1", "/v2/keep/a?x=1"),
        ("/keep/", "/v2/keep/"),
        ("/bare", "/"),
        ("/bare?x=1", "/?x=1"),
        ("/bare/x/y", "/x/y"),
    ]
    failures = []
    for sent, want in expected:
        r = curl("--path-as-is", proxy.url + sent)
        try:
            body = json.loads(r.stdout)
        except ValueError:
            body = {}
        if r.returncode != 0 or not body.get("token_valid") or body.get("target") != want:
            failures.append(f"{sent} went up as {body.get('target')!r}, want {want!r} "
                            f"(curl exit {r.returncode}, {body.get('reject_reason') or r.stdout[:120]!r})")
    with harness.session() as s:
        for url, want in (("http://localhost/strip/abs?z=9", "/v2/abs?z=9"),
                          (f"http://127.0.0.1:{proxy.port}/keep/abs", "/v2/keep/abs"),
                          ("http://localhost/bare", "/")):
            r = s.get(url, proxies={"http": proxy.url}, timeout=30)
            target = r.json().get("target") if r.status_code == 200 else f"status {r.status_code}"
            if target != want:
                failures.append(f"{url} (absolute-form) went up as {target!r}, want {want!r}")
        for path in ("/barex", "/strip", "/keep", "/other/strip/x"):
            r = s.get(proxy.url + path, timeout=30)
            if r.status_code != 404 or r.json().get("error") != "no_route":
                failures.append(f"{path}: {r.status_code} {r.text[:160]}, want 404 no_route")
    check(not failures, "; ".join(failures))
    got = _targets(env.upstream)
    want = [w for _, w in expected] + ["/v2/abs?z=9", "/v2/keep/abs", "/"]
    check(got == want, f"upstream saw {got}, want {want}")


# ---------------------------------------------------------------- WebSocket

WS_SUBPROTOCOL = "interop.echo.v1"
WS_MAX = 16 * 1024 * 1024
# Frame payload lengths around RFC 6455 §5.2's encodings (7-bit, 16-bit, 64-bit), and ~1 MiB.
WS_SIZES = (0, 1, 125, 126, 127, 65535, 65536, 1024 * 1024 + 3)


def _ws_text(size, unit="abc é ü € 😀 xyz\n"):
    """`size` characters; the default mixes 1- to 4-byte UTF-8 sequences."""
    return (unit * (size // len(unit) + 1))[:size]


def _ws_client(url, **kw):
    """websocket-client's blocking connection; never through an http_proxy of the environment."""
    import websocket
    return websocket.create_connection(url, timeout=30, http_no_proxy=["*"], **kw)


def _ws_connect(url, **kw):
    """The `websockets` package's sync client (permessage-deflate offered); never through a proxy."""
    from websockets.sync.client import connect
    return connect(url, proxy=None, open_timeout=30, close_timeout=10, max_size=WS_MAX, **kw)


def _ws_whoami(who, env, what):
    """`who` (the upstream's whoami answer) shows a valid token of the configured client on the
    handshake, and none of what the client itself sent as credentials."""
    check(who.get("token_valid") is True, f"{what}: whoami says the handshake's token was not valid: {who}")
    claims = who["token_claims"]
    check(claims["client_id"] == "basic-client" and claims["sub"] == "basic-client" and claims["iss"] == env.authz.issuer
          and claims["aud"] == AUDIENCE, f"{what}: token of {claims.get('client_id')} from {claims.get('iss')}")
    check(sorted(claims["scope"].split()) == sorted(SCOPES), f"{what}: scope {claims['scope']!r}")
    auths = header_values(who, "Authorization")
    check(len(auths) == 1 and auths[0].startswith("Bearer ey"), f"{what}: upstream saw Authorization {auths}")
    check("forged" not in auths[0], f"{what}: the client's own Authorization reached the upstream")
    check(not header_values(who, "Proxy-Authorization"), f"{what}: Proxy-Authorization reached the upstream")


def _ws_tunnels(proxy) -> list[dict]:
    """The proxy's access lines with status 101: one per tunnel, written when it has closed."""
    return [e for e in proxy.log() if e.get("msg") == "request" and str(e.get("status")) == "101"]


def _ws_await_tunnels(proxy, count, what, limit=5.0) -> list[dict]:
    deadline = time.monotonic() + limit
    while len(lines := _ws_tunnels(proxy)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    check(len(lines) == count, f"{what}: {len(lines)} access lines with status 101, want {count}: {lines}")
    return lines


def _ws_closes(upstream, count, limit=5.0) -> list:
    deadline = time.monotonic() + limit
    while len(closes := upstream.stats()["closes"]) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return closes


@case
def websocket_echo(env):
    """WebSocket through the proxy to a TLS WebSocket server (`websockets`) that checks the bearer on
    the handshake. websocket-client sends its own `Authorization: Bearer forged` and a subprotocol:
    101 with the subprotocol; the server saw one valid token of the configured client (whoami), not
    the forged one. Text (1- to 4-byte UTF-8) and binary messages from 0 bytes to 1 MiB, at each frame
    length encoding, a burst of 32 sent before any is read, and 16 MiB sent while the echoes are
    read, come back intact; closing with 1000 gets the server's 1000. Then the `websockets` client,
    with permessage-deflate negotiated through the tunnel: 1 MiB compressed messages echo, and a
    close the server starts right after an echo arrives after that echo, as 1000. A server that
    speaks first is heard; a client that vanishes without a close frame: the server sees its
    connection end (1006). No access line while a tunnel is open; one with status 101 for each
    after it closed."""
    import websocket
    upstream = env.websocket_upstream()
    proxy = env.proxy("websocket", upstream_url=upstream.url)
    url = f"ws://127.0.0.1:{proxy.port}/echo?room=1"

    ws = _ws_client(url, header=["Authorization: Bearer forged.forged.forged"], subprotocols=[WS_SUBPROTOCOL])
    try:
        check(ws.getstatus() == 101, f"handshake status {ws.getstatus()}")
        check(ws.getsubprotocol() == WS_SUBPROTOCOL, f"subprotocol {ws.getsubprotocol()!r}, want {WS_SUBPROTOCOL}")
        ws.send("whoami")
        who = json.loads(ws.recv())
        _ws_whoami(who, env, "websocket-client")
        check(who["target"] == "/echo?room=1", f"the handshake went up as {who['target']!r}")
        check(header_values(who, "Sec-WebSocket-Protocol") == [WS_SUBPROTOCOL],
              f"Sec-WebSocket-Protocol upstream: {header_values(who, 'Sec-WebSocket-Protocol')}")

        sent = 0
        failures = []
        payloads = [(websocket.ABNF.OPCODE_TEXT, _ws_text(n, "interop!")) for n in WS_SIZES]
        payloads += [(websocket.ABNF.OPCODE_TEXT, _ws_text(n)) for n in (3, 70_000, 1024 * 1024)]
        payloads += [(websocket.ABNF.OPCODE_BINARY, os.urandom(n)) for n in WS_SIZES]
        for opcode, payload in payloads:
            ws.send(payload, opcode)
            got_opcode, got = ws.recv_data()
            if got_opcode == websocket.ABNF.OPCODE_TEXT and isinstance(got, (bytes, bytearray)):
                got = got.decode()
            sent += len(payload.encode() if isinstance(payload, str) else payload)
            if (got_opcode, got) != (opcode, payload):
                kind = "text" if opcode == websocket.ABNF.OPCODE_TEXT else "binary"
                failures.append(f"{kind} of {len(payload)}: came back as opcode {got_opcode}, {len(got)} long"
                                f"{'' if len(got) != len(payload) else ', different content'}")
        check(not failures, "; ".join(failures))

        burst = [os.urandom(n * 61) if n % 2 else _ws_text(n * 59) for n in range(32)]
        for payload in burst:
            ws.send(payload, websocket.ABNF.OPCODE_BINARY if isinstance(payload, bytes) else websocket.ABNF.OPCODE_TEXT)
        back = []
        for _ in burst:
            opcode, got = ws.recv_data()
            back.append(got.decode() if opcode == websocket.ABNF.OPCODE_TEXT else got)
        check(back == burst, f"burst of 32: {sum(a == b for a, b in zip(back, burst))} came back intact")

        # Both ways at once: 16 MiB go up from one thread while the echoes are read here. The
        # tunnel's back-pressure must not stall either direction.
        blocks = [os.urandom(1024 * 1024) for _ in range(16)]
        errors = []

        def send_all():
            try:
                for block in blocks:
                    ws.send_binary(block)
            except Exception as e:  # reported below
                errors.append(e)

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        back = [ws.recv_data()[1] for _ in blocks]
        sender.join(30)
        check(not errors, f"sending 16 MiB while reading the echoes: {errors}")
        check(back == blocks, f"16 MiB both ways at once: {sum(a == b for a, b in zip(back, blocks))} of 16 intact")
        sent += 16 * 1024 * 1024

        check(not _ws_tunnels(proxy), "an access line with status 101 while the tunnel is still open")
    finally:
        ws.close(status=1000, reason=b"done", timeout=10)
    check(ws.close_frame is not None, "websocket-client got no close frame back after closing with 1000")
    code = int.from_bytes(ws.close_frame.data[:2], "big")
    check(code == 1000, f"the server's close frame says {code}, want 1000")
    check([1000, "done"] in _ws_closes(upstream, 1), f"the server saw closes {upstream.stats()['closes']}, want 1000 done")
    first = _ws_await_tunnels(proxy, 1, "after websocket-client closed")[0]
    check(first.get("method") == "GET" and first.get("path", "").startswith("/echo"), f"access line {first}")
    check(int(first["bytes_in"]) >= sent and int(first["bytes_out"]) >= sent,
          f"access line counts {first['bytes_in']} bytes in and {first['bytes_out']} out, {sent} of payloads went each way")

    from websockets.exceptions import ConnectionClosedOK
    with _ws_connect(f"ws://127.0.0.1:{proxy.port}/deflate",
                     additional_headers={"Authorization": "Bearer forged.forged.forged"}) as ws2:
        check(ws2.response.status_code == 101, f"websockets handshake status {ws2.response.status_code}")
        extensions = ws2.response.headers.get("Sec-WebSocket-Extensions", "")
        check("permessage-deflate" in extensions, f"permessage-deflate not negotiated through the proxy: {extensions!r}")
        ws2.send("whoami")
        who = json.loads(ws2.recv(timeout=30))
        _ws_whoami(who, env, "websockets")
        check(who["target"] == "/deflate", f"the handshake went up as {who['target']!r}")
        for payload in (_ws_text(1024 * 1024, "interop "), _ws_text(1024 * 1024), os.urandom(1024 * 1024),
                        bytes(1024 * 1024)):
            ws2.send(payload)
            got = ws2.recv(timeout=30)
            check(got == payload, f"{type(payload).__name__} of {len(payload)} with permessage-deflate: came back "
                  f"{type(got).__name__} of {len(got)}")
        # The server closes right after its last echo: what the proxy still has queued for the
        # client arrives before the close.
        last = os.urandom(1024 * 1024)
        ws2.send(last)
        ws2.send("bye")
        check(ws2.recv(timeout=30) == last, "the echo sent just before the server's close did not arrive intact")
        try:
            ws2.recv(timeout=10)
            check(False, "the server's close did not reach the websockets client")
        except ConnectionClosedOK as e:
            check(e.rcvd is not None and e.rcvd.code == 1000, f"websockets client: the server's close arrived as {e.rcvd}")
    _ws_await_tunnels(proxy, 2, "after the server closed the second WebSocket")

    # A server that speaks first (its message may come with the 101), then a client that goes
    # away without a close frame: the server sees its connection end, and the tunnel still gets
    # its one line.
    ws3 = _ws_client(f"ws://127.0.0.1:{proxy.port}/greet")
    greeting = ws3.recv()
    check(greeting == "hello basic-client", f"the server's first message arrived as {greeting!r}")
    ws3.send("ping?")
    check(ws3.recv() == "ping?", "third WebSocket: no echo")
    ws3.sock.close()
    closes = _ws_closes(upstream, 3)
    # 1006: the connection ended without a close frame (RFC 6455 §7.1.5).
    check(len(closes) == 3 and closes[2][0] == 1006,
          f"the server saw closes {closes} after the client vanished, want a third with 1006")
    _ws_await_tunnels(proxy, 3, "after the third client vanished")
    handshakes = upstream.stats()["requests"]
    check([(h["status"], h["client_id"]) for h in handshakes] == [(101, "basic-client")] * 3,
          f"handshakes the upstream saw: {handshakes}")


@case
def websocket_handshake_refused(env):
    """The WebSocket server alone (no proxy) opens for a valid token and refuses a missing one, a
    forged one and one without urn:interop:write (401). Through the proxy, whose client gets tokens
    without that scope, the server refuses the handshake with 401 invalid_token. websocket-client
    and the `websockets` client each report the refused handshake with that 401, its
    WWW-Authenticate and its body; no tunnel opens, and the access log has the 401s and no 101."""
    import ssl
    import websocket
    from websockets.exceptions import InvalidStatus
    upstream = env.websocket_upstream()

    # The server itself, without the proxy: it opens for a valid token only, so a proxy case that
    # passes shows the proxy's token, and a refusal is the server's judgement.
    with harness.session() as s:
        def direct_token(scope):
            r = s.post(env.authz.token_url, verify=env.ca.cert_file, timeout=30, data={
                "grant_type": "client_credentials", "scope": scope, "client_id": "post-client",
                "client_secret": SECRETS["post-client"]})
            check(r.status_code == 200, f"token for the direct check: {r.status_code} {r.text[:200]}")
            return r.json()["access_token"]
        good, read_only = direct_token(" ".join(SCOPES)), direct_token("urn:interop:read")
    tls = ssl.create_default_context(cafile=env.ca.cert_file)
    wss = upstream.url.replace("https://", "wss://") + "/direct"
    with _ws_connect(wss, ssl=tls, additional_headers={"Authorization": f"Bearer {good}"}) as ws:
        ws.send("whoami")
        check(json.loads(ws.recv(timeout=30))["token_claims"]["client_id"] == "post-client", "direct whoami")
    # websocket-client here: the `websockets` sync client, refused over TLS, now and then logs an
    # internal EOFError from its reader thread (a race inside the library, harmless, but noise).
    for what, headers in (("no token", []), ("a forged token", ["Authorization: Bearer forged.forged.forged"]),
                          ("a token without urn:interop:write", [f"Authorization: Bearer {read_only}"])):
        try:
            _ws_client(wss, header=headers, sslopt={"ca_certs": env.ca.cert_file}).close()
            check(False, f"the WebSocket server opened for {what}")
        except websocket.WebSocketBadStatusException as e:
            check(e.status_code == 401, f"the WebSocket server answered {what} with {e.status_code}")
    upstream.call("reset")

    proxy = env.proxy("websocket-refused", env.token(scopes=["urn:interop:read"]), upstream_url=upstream.url)
    url = f"ws://127.0.0.1:{proxy.port}/echo"
    refusals = []
    try:
        _ws_client(url).close()
        check(False, "websocket-client: the handshake succeeded with a token the server refuses")
    except websocket.WebSocketBadStatusException as e:
        headers = {k.lower(): v for k, v in (e.resp_headers or {}).items()}
        refusals.append(("websocket-client", e.status_code, headers.get("www-authenticate", ""), e.resp_body or b""))
    try:
        _ws_connect(url).close()
        check(False, "websockets: the handshake succeeded with a token the server refuses")
    except InvalidStatus as e:
        refusals.append(("websockets", e.response.status_code, e.response.headers.get("WWW-Authenticate", ""),
                         e.response.body or b""))
    for client, status, challenge, body in refusals:
        check(status == 401, f"{client}: the refused handshake arrived as {status}, want the upstream's 401")
        check('error="invalid_token"' in challenge, f"{client}: WWW-Authenticate {challenge!r}")
        detail = json.loads(body).get("reject_reason", "")
        check("insufficient scope" in detail and "urn:interop:write" in detail, f"{client}: body says {detail!r}")
    handshakes = upstream.stats()["requests"]
    # The proxy may try each handshake once more with a new token after a 401 invalid_token.
    check(2 <= len(handshakes) <= 4 and all(h["status"] == 401 for h in handshakes),
          f"handshakes the upstream saw: {handshakes}")
    check(not _ws_tunnels(proxy), f"a 101 in the access log for a refused handshake: {_ws_tunnels(proxy)}")
    refused = [e for e in proxy.log() if e.get("msg") == "request" and str(e.get("status")) == "401"]
    check(len(refused) == 2, f"{len(refused)} access lines with status 401 for two refused handshakes: {refused}")


@case
def websocket_browser_origin(env):
    """A handshake as a browser page sends it, with `Origin`: from a foreign site (the `websockets`
    client with https://evil.example, websocket-client with `null`) it is 403 foreign_origin, the
    client library reports the refusal, and nothing reaches the server, so a page open on this
    machine cannot use the client's token. From a local page (http://localhost:5173) it opens."""
    import websocket
    from websockets.exceptions import InvalidStatus
    upstream = env.websocket_upstream()
    proxy = env.proxy("websocket-origin", upstream_url=upstream.url)
    url = f"ws://127.0.0.1:{proxy.port}/echo"
    refusals = []
    try:
        with _ws_connect(url, origin="https://evil.example"):
            pass
        check(False, "websockets: a handshake with Origin https://evil.example opened")
    except InvalidStatus as e:
        refusals.append(("Origin https://evil.example", e.response.status_code, e.response.body or b""))
    try:
        _ws_client(url, origin="null").close()
        check(False, "websocket-client: a handshake with Origin null opened")
    except websocket.WebSocketBadStatusException as e:
        refusals.append(("Origin null", e.status_code, e.resp_body or b""))
    for what, status, body in refusals:
        check(status == 403, f"{what}: status {status}, want 403")
        check(json.loads(body).get("error") == "foreign_origin", f"{what}: body {body[:200]!r}")
    check(upstream.stats()["requests"] == [], f"a foreign page's handshake reached the server: {upstream.stats()['requests']}")
    ws = _ws_client(url, origin="http://localhost:5173")
    try:
        ws.send("whoami")
        who = json.loads(ws.recv())
        _ws_whoami(who, env, "a local page")
        check(header_values(who, "Origin") == ["http://localhost:5173"], f"Origin upstream: {header_values(who, 'Origin')}")
    finally:
        ws.close(timeout=10)
    _ws_await_tunnels(proxy, 1, "after the local page's WebSocket closed")


@case
def websocket_tunnel_lifetime(env):
    """3 s tokens, timeouts.tunnel_idle 2s. A tunnel with a message each way every 0.5 s stays open
    past its token's exp and through a SIGHUP reload; once silent, the proxy closes it after about
    2 s (the client sees the connection end without a close frame, the server sees it go) and
    writes its one 101 line. The next handshake carries a new token. SIGTERM with a tunnel open:
    the proxy exits 0 after drain_timeout (1 s), not after tunnel_idle, and the tunnel ends."""
    import signal
    from websockets.exceptions import ConnectionClosedError
    env.authz.set(expires_in=3)
    upstream = env.websocket_upstream()
    proxy = env.proxy("websocket-lifetime", upstream_url=upstream.url, extra_top={"timeouts": {"tunnel_idle": "2s"}})
    with _ws_connect(f"ws://127.0.0.1:{proxy.port}/idle", compression=None) as ws:
        ws.send("whoami")
        first = json.loads(ws.recv(timeout=30))
        _ws_whoami(first, env, "first tunnel")
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < 4.5:
            if ticks == 4:
                proxy.process.send_signal(signal.SIGHUP)
            ws.send(f"tick {ticks}")
            check(ws.recv(timeout=5) == f"tick {ticks}", f"tick {ticks} not echoed")
            ticks += 1
            time.sleep(0.5)
        check(time.time() > first["token_claims"]["exp"] + 1,
              "the token of the handshake has not expired yet: the tunnel's life was too short to tell")
        silent = time.monotonic()
        try:
            ws.recv(timeout=10)
            check(False, "a message arrived on a silent tunnel")
        except ConnectionClosedError:
            pass
        except TimeoutError:
            check(False, "the silent tunnel was still open after 10 s with tunnel_idle 2s")
        waited = time.monotonic() - silent
    check(1.5 <= waited <= 4.5, f"the silent tunnel closed after {waited:.1f}s, tunnel_idle is 2s")
    check(log_has(proxy, "config reloaded"), "no reload in the proxy's log after SIGHUP")
    closes = _ws_closes(upstream, 1)
    check(len(closes) == 1 and closes[0][0] == 1006, f"the server saw closes {closes}, want one with 1006 (no close frame)")
    _ws_await_tunnels(proxy, 1, "after the idle close")

    with _ws_connect(f"ws://127.0.0.1:{proxy.port}/again", compression=None) as ws:
        ws.send("whoami")
        second = json.loads(ws.recv(timeout=30))
        _ws_whoami(second, env, "second tunnel")
        check(second["token_claims"]["jti"] != first["token_claims"]["jti"], "the second handshake reused the expired token")
        stopping = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)
        try:
            code = proxy.process.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - stopping
        check(code == 0, f"SIGTERM with a tunnel open: exit {code} after {took:.1f}s, want 0 after drain_timeout (1 s)")
        check(took < 4, f"SIGTERM with a tunnel open: the proxy took {took:.1f}s to exit, drain_timeout is 1 s")
        try:
            ws.recv(timeout=5)
            check(False, "a message arrived after the proxy exited")
        except ConnectionClosedError:
            pass
        except TimeoutError:
            check(False, "the tunnel was still open 5 s after the proxy exited")


# ---------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxy", default=os.path.join(REPO, ".build", "debug", "bearer-proxy"))
    parser.add_argument("--only", action="append", help="run only cases whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = parser.parse_args()
    if not os.access(args.proxy, os.X_OK):
        print(f"interop: no executable at {args.proxy}; run `swift build` first", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    for tool in ("nginx", "curl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"interop: {tool} is not installed", file=sys.stderr)
            print("0 passed, 1 failed")
            return 1

    workdir = tempfile.mkdtemp(prefix="bearer-proxy-interop-")
    passed, failed = [], []
    env = None
    try:
        started = time.monotonic()
        env = Env(os.path.abspath(args.proxy), workdir)
        print(f"interop: peers up in {time.monotonic() - started:.1f}s (authz {env.authz.url}, "
              f"nginx {env.upstream.url}, work dir {workdir})", flush=True)
        for fn in CASES:
            name = fn.__name__
            if args.only and not any(o in name for o in args.only):
                continue
            env.authz.reset()
            env.upstream.call("reset")
            t0 = time.monotonic()
            try:
                fn(env)
                proxies = list(env.proxies)
                env.end_case()
                for proxy in proxies:  # an instrumented binary (--sanitize=thread/address) reports here
                    text = proxy.log_text()
                    for marker in ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "runtime error:"):
                        if marker in text:
                            at = text.index(marker)
                            raise AssertionError(f"sanitizer report in the proxy's stderr ({proxy.log_path}):\n"
                                                 + text[at:at + 3000])
                for proxy in proxies:  # suppressed known false positives stay visible
                    text = proxy.log_text()
                    if "ThreadSanitizer: Matched" in text:
                        used = text[text.index("ThreadSanitizer: Matched"):].splitlines()[:6]
                        print("      note: TSan suppressions matched (known false positives, see "
                              "interop/tsan-suppressions.txt): " + " | ".join(u.strip() for u in used), flush=True)
                passed.append(name)
                print(f"PASS  {name} ({time.monotonic() - t0:.1f}s)", flush=True)
            except Exception as e:
                failed.append(name)
                detail = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
                print(f"FAIL  {name} ({time.monotonic() - t0:.1f}s): {detail}", flush=True)
                for proxy in env.proxies:
                    tail = proxy.log_text().splitlines()[-8:]
                    print(f"      proxy log ({proxy.log_path}), last lines:", flush=True)
                    for line in tail:
                        print(f"        {line[:300]}", flush=True)
            finally:
                env.end_case()
    except Exception:
        traceback.print_exc()
        failed.append("setup")
    finally:
        harness.stop_all()
        if args.keep or failed:
            print(f"interop: logs and configs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    import signal as _signal
    _signal.signal(_signal.SIGTERM, lambda *a: (harness.stop_all(), sys.exit(143)))
    sys.exit(main())

#!/usr/bin/env python3
"""Authorization server for the interop suite, built on Authlib (not on anything of ours).

- client credentials grant (RFC 6749 §4.4) only;
- RFC 9068 JWT access tokens (`typ: at+jwt`), signed RS256 with the key given by --signing-key;
- client authentication: client_secret_basic, client_secret_post, private_key_jwt and
  client_secret_jwt (RFC 7523 §2.2), each client allowed exactly the methods it is registered with;
  and a federated credential (as Entra ID workload identity and Keycloak take one): a JWT of
  another issuer, checked against that issuer's JWKS and the issuer, subject and audience
  registered for the client named by client_id; and tls_client_auth (RFC 8705 §2.1): the TLS
  client certificate's subject must be the one registered, and the token is bound to the
  certificate (`cnf.x5t#S256`, RFC 8705 §3.1);
- discovery: /.well-known/openid-configuration and /.well-known/oauth-authorization-server, JWKS;
- served over TLS (certificate from the suite's test CA), loopback only;
- /admin/*: counts token requests, and can be told to fail (5xx, invalid_client) or slow down.

Prints `LISTENING <port>` on stdout once it accepts connections.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import ssl
import sys
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, Response, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from werkzeug.serving import make_server

try:
    import dpop  # run as a script from this folder
except ImportError:  # imported as peers.<module> by run.py
    from peers import dpop

AUDIENCE = "bearer-proxy-interop-api"
SCOPES = ["urn:interop:read", "urn:interop:write", "urn:interop:admin"]
ASSERTION_ALGS = ["RS256", "PS256", "ES256", "HS256"]


class State:
    """Everything the suite can see or change through /admin."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.mode = "ok"  # ok | fail500 | invalid_client
        self.delay = 0.0  # seconds before answering a token request
        self.shape = []  # how to reshape a successful token answer, as other servers do
        self.advertised_methods = None  # discovery's token_endpoint_auth_methods_supported, if not all
        self.expires_in = 300
        self.token_requests = 0  # every POST to the token endpoint, whatever the outcome
        self.issued = 0
        self.discovery_requests = 0
        self.jwks_requests = 0
        self.events = []  # one per token request: time, outcome, method, client
        self.federated_jtis = []  # the jti of each federated assertion accepted, in order
        self.dpop_nonce = None  # when set, DPoP proofs must carry it (400 use_dpop_nonce otherwise)
        self.dpop_proofs = 0  # DPoP proofs accepted
        self.dpop_replay = dpop.Replay()


STATE = State()


class Client(ClientMixin):
    def __init__(self, spec: dict):
        self.client_id = spec["client_id"]
        self.client_secret = spec.get("client_secret")
        self.methods = spec["methods"]
        self.scopes = spec.get("scopes", SCOPES)
        self.public_keys = spec.get("public_keys", [])  # [{"pem": path, "kid": ...}]
        # {"issuer", "subject", "audience", "jwks": path}: whose assertions stand for this client.
        self.federation = spec.get("federation")
        # tls_client_auth (RFC 8705 §2.1.2): the subject DN its certificate must have, RFC 4514.
        self.tls_client_auth_subject_dn = spec.get("tls_client_auth_subject_dn")

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return self.client_secret is not None and client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in self.methods

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class ClientCredentials(grants.ClientCredentialsGrant):
    # federated_jwt first: its assertion's sub is not a client_id, so the private_key_jwt check
    # would refuse it. It is private_key_jwt on the wire, so discovery does not list it.
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "federated_jwt", "client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt",
        "tls_client_auth",
    ]
    ADVERTISED_METHODS = [m for m in TOKEN_ENDPOINT_AUTH_METHODS if m != "federated_jwt"]


def client_certificate():
    """The TLS client certificate of the request being served (werkzeug puts it in the
    environ), or None."""
    pem = request.environ.get("SSL_CLIENT_CERT")
    if not pem:
        return None
    from cryptography import x509
    return x509.load_pem_x509_certificate(pem.encode())


class TlsClientAuth:
    """RFC 8705 §2.1: the client named by client_id authenticates with a TLS client certificate
    (verified against the test CA in the handshake) whose subject is the one registered."""

    def __call__(self, query_client, req):
        if req.form.get("client_assertion") or req.form.get("client_secret"):
            return None
        client = query_client(req.form.get("client_id"))
        if client is None or not client.tls_client_auth_subject_dn:
            return None
        certificate = client_certificate()
        if certificate is None:
            raise InvalidClientError(description="tls_client_auth: no client certificate presented")
        if certificate.subject.rfc4514_string() != client.tls_client_auth_subject_dn:
            raise InvalidClientError(description=f"tls_client_auth: subject {certificate.subject.rfc4514_string()} is not registered")
        return client


class FederatedAssertion:
    """A federated credential: `client_id` names the client, and `client_assertion` is a JWT of
    the workload issuer registered for it (a Kubernetes service-account token), verified with that
    issuer's JWKS; iss, sub and aud must be the registered ones and exp still ahead (RFC 7523 §3)."""

    def __call__(self, query_client, request):
        if request.form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return None
        client = query_client(request.form.get("client_id"))
        if client is None or not client.federation:
            return None
        federation = client.federation
        with open(federation["jwks"], encoding="utf-8") as f:
            keys = KeySet.import_key_set(json.load(f))
        try:
            token = jwt.decode(request.form.get("client_assertion", ""), keys, algorithms=["ES256", "RS256"])
            jwt.JWTClaimsRegistry(
                leeway=0,
                iss={"essential": True, "value": federation["issuer"]},
                sub={"essential": True, "value": federation["subject"]},
                aud={"essential": True, "value": federation["audience"]},
                exp={"essential": True},
            ).validate(token.claims)
        except JoseError as e:
            raise InvalidClientError(description=f"federated assertion: {e.description or e.error}") from e
        with STATE.lock:
            STATE.federated_jtis.append(token.claims.get("jti"))
        return client


class _Assertion(JWTBearerClientAssertion):
    """RFC 7523 client assertions: `aud` must be the token endpoint or the issuer; `jti` single use."""

    def __init__(self, audiences):
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = audiences
        self._seen = set()
        self._lock = threading.Lock()

    def get_audiences(self):
        return self._audiences

    def __call__(self, query_client, request):
        # Authlib tries each assertion method in turn and the first one raises for a client that
        # is registered for the other: skip clients not registered for this method.
        assertion = request.form.get("client_assertion")
        if assertion:
            try:
                _, claims = self.extract_assertion(assertion)
                client = query_client(claims.get("sub")) if isinstance(claims.get("sub"), str) else None
            except InvalidClientError:
                client = None
            if client is not None and not client.check_endpoint_auth_method(self.CLIENT_AUTH_METHOD, "token"):
                return None
        return super().__call__(query_client, request)

    def validate_jti(self, claims, jti):
        with self._lock:
            key = (claims["sub"], jti)
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except JoseError as e:
            raise InvalidClientError(description=f"client assertion: {e.description}") from e
        for claim in ("iat", "exp", "jti"):
            if claim not in token.claims:
                raise InvalidClientError(description=f"client assertion lacks {claim}")
        self.verify_claims(token.claims)
        return token.claims


class PrivateKeyJWT(_Assertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def resolve_client_public_key(self, client):
        """The client's registered key named by `kid`; without a `kid` (it is optional), the key
        whose type fits `alg`."""
        keys = []
        for entry in client.public_keys:
            with open(entry["pem"], "rb") as f:
                pem = f.read()
            params = {"kid": entry["kid"]} if entry.get("kid") else None
            cls = ECKey if entry.get("type") == "EC" else RSAKey
            keys.append(cls.import_key(pem, params))

        def resolve(token):
            header = token.headers()
            kid, alg = header.get("kid"), header.get("alg", "")
            for key in keys:
                if kid is not None and key.kid == kid:
                    return key
            if kid is None:
                wanted = "EC" if alg.startswith("ES") else "RSA"
                for key in keys:
                    if key.key_type == wanted:
                        return key
            raise InvalidClientError(description=f"no registered key for kid {kid!r} alg {alg!r}")

        return resolve


class ClientSecretJWT(_Assertion):
    CLIENT_AUTH_METHOD = "client_secret_jwt"

    def resolve_client_public_key(self, client):
        return OctKey.import_key(client.client_secret.encode())


class TokenGenerator(JWTBearerTokenGenerator):
    def __init__(self, issuer, signing_key):
        super().__init__(issuer=issuer, alg="RS256", expires_generator=lambda client, grant: STATE.expires_in)
        self._key = signing_key

    def get_jwks(self):
        return self._key

    def get_audiences(self, client, user, scope):
        return AUDIENCE

    def get_extra_claims(self, client, grant_type, user, scope):
        # RFC 9449 §6: a token requested with a DPoP proof is bound to its key.
        if getattr(request, "_dpop_jkt", None):
            return {"cnf": {"jkt": request._dpop_jkt}}
        # RFC 8705 §3.1: a token issued to a certificate-authenticated client is bound to it.
        certificate = client_certificate() if client.tls_client_auth_subject_dn else None
        if certificate is None:
            return {}
        from cryptography.hazmat.primitives.serialization import Encoding
        digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
        return {"cnf": {"x5t#S256": base64.urlsafe_b64encode(digest).rstrip(b"=").decode()}}


def reshape(response, shape):
    """Answers the way other servers do: expires_in as a string (Azure AD v1), no expires_in (the
    JWT's exp is all there is), token_type "bearer", a charset parameter, a chunked body."""
    body = json.loads(response.get_data())
    if "expires_in_string" in shape:
        body["expires_in"] = str(body["expires_in"])
    if "no_expires_in" in shape:
        body.pop("expires_in", None)
    if "token_type_lowercase" in shape:
        body["token_type"] = "bearer"
    if "extra_fields" in shape:
        body.update({"ext_expires_in": 3600, "not-before-policy": 0, "refresh_expires_in": 0, "id_token": None,
                     "nested": {"a": [1, 2, {"b": "\u00e9\\\""}]}})
    data = json.dumps(body).encode()
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    content_type = "application/json;charset=UTF-8" if "charset" in shape else "application/json"
    if "chunked" in shape:
        # No Content-Length: the development server sends it chunked (HTTP/1.1), in small pieces.
        def pieces():
            for i in range(0, len(data), 7):
                yield data[i:i + 7]
        return Response(pieces(), status=200, headers=headers, content_type=content_type)
    return Response(data, status=200, headers=headers, content_type=content_type)


def build_app(args) -> Flask:
    with open(args.clients) as f:
        clients = {c["client_id"]: Client(c) for c in json.load(f)}
    with open(args.signing_key, "rb") as f:
        signing_key = RSAKey.import_key(f.read(), {"kid": args.kid, "use": "sig", "alg": "RS256"})
    issuer = args.issuer
    token_url = f"{issuer}/token"

    app = Flask("interop-authz")
    server = AuthorizationServer(app, query_client=clients.get, save_token=lambda token, req: None)
    server.scopes_supported = SCOPES
    server.register_grant(ClientCredentials)
    server.register_token_generator("default", TokenGenerator(issuer, signing_key))
    server.register_client_auth_method("private_key_jwt", PrivateKeyJWT([token_url, issuer]))
    server.register_client_auth_method("client_secret_jwt", ClientSecretJWT([token_url, issuer]))
    server.register_client_auth_method("federated_jwt", FederatedAssertion())
    server.register_client_auth_method("tls_client_auth", TlsClientAuth())

    def metadata():
        with STATE.lock:
            STATE.discovery_requests += 1
            methods = STATE.advertised_methods or ClientCredentials.ADVERTISED_METHODS
        return jsonify(
            issuer=issuer,
            token_endpoint=token_url,
            jwks_uri=f"{issuer}/jwks.json",
            grant_types_supported=["client_credentials"],
            response_types_supported=["token"],
            scopes_supported=SCOPES,
            token_endpoint_auth_methods_supported=methods,
            token_endpoint_auth_signing_alg_values_supported=ASSERTION_ALGS,
        )

    app.add_url_rule("/.well-known/openid-configuration", "oidc", metadata)
    app.add_url_rule("/.well-known/oauth-authorization-server", "rfc8414", metadata)

    @app.get("/jwks.json")
    def jwks():
        with STATE.lock:
            STATE.jwks_requests += 1
        return jsonify(KeySet([signing_key]).as_dict(private=False))

    @app.post("/token")
    def token():
        with STATE.lock:
            STATE.token_requests += 1
            mode, delay = STATE.mode, STATE.delay
        if delay:
            time.sleep(delay)
        event = {"t": time.time(), "remote": request.remote_addr}
        if mode == "fail500":
            event["outcome"] = "500"
            response = (jsonify(error="server_error", error_description="failing on purpose (interop suite)"), 500)
        elif mode == "invalid_client":
            event["outcome"] = "invalid_client"
            response = (
                jsonify(error="invalid_client", error_description="client disabled by the interop suite"),
                401,
                {"WWW-Authenticate": 'Basic realm="interop"'},
            )
        elif mode == "echo_credentials":
            # Servers that copy what they were sent into error_description exist; the proxy must
            # never repeat any of it (log, /readyz, the 503 body).
            event["outcome"] = "echo_credentials"
            sent = f"Authorization: {request.headers.get('Authorization')} client_secret={request.form.get('client_secret')}"
            response = (jsonify(error="invalid_client", error_description=f"bad credentials ({sent})"), 401)
        elif mode == "error_in_200":
            # An error answer with status 200, which golang.org/x/oauth2 also reads as an error.
            event["outcome"] = "error_in_200"
            response = (jsonify(error="invalid_client", error_description="client disabled (sent with status 200)"), 200)
        elif request.headers.get("DPoP") is not None:
            # RFC 9449 §5: check the proof, then issue a DPoP-bound token (cnf.jkt, token_type DPoP).
            with STATE.lock:
                nonce = STATE.dpop_nonce
            try:
                request._dpop_jkt, _ = dpop.verify(request.headers.get("DPoP"), "POST", token_url, STATE.dpop_replay, nonce=nonce)
            except dpop.NeedsNonce:
                event["outcome"] = "use_dpop_nonce"
                response = (jsonify(error="use_dpop_nonce", error_description="Authorization server requires nonce in DPoP proof"),
                            400, {"DPoP-Nonce": nonce})
            except ValueError as e:
                event["outcome"] = "invalid_dpop_proof"
                response = (jsonify(error="invalid_dpop_proof", error_description=str(e)), 400)
            else:
                with STATE.lock:
                    STATE.dpop_proofs += 1
                response = server.create_token_response()
                event["outcome"] = str(response.status_code)
                event["method"] = getattr(request, "_interop_method", None)
                if response.status_code == 200:
                    body = json.loads(response.get_data())
                    body["token_type"] = "DPoP"
                    response.set_data(json.dumps(body))
        else:
            response = server.create_token_response()
            event["outcome"] = str(response.status_code)
            event["method"] = getattr(request, "_interop_method", None)
            try:
                body = json.loads(response.get_data())
                event["error"] = body.get("error")
                event["error_description"] = body.get("error_description")
                event["scope"] = body.get("scope")
            except ValueError:
                pass
        with STATE.lock:
            if event["outcome"] == "200":
                STATE.issued += 1
            STATE.events.append(event)
            shape = list(STATE.shape)
        if shape and event["outcome"] == "200":
            response = reshape(response, shape)
        return response


    original = server.authenticate_client

    def authenticate_client(req, methods, endpoint="token"):
        client = original(req, methods, endpoint)
        request._interop_method = getattr(req, "auth_method", None)
        return client

    server.authenticate_client = authenticate_client

    @app.get("/admin/stats")
    def stats():
        with STATE.lock:
            return jsonify(
                mode=STATE.mode, delay=STATE.delay, expires_in=STATE.expires_in,
                token_requests=STATE.token_requests, issued=STATE.issued,
                discovery_requests=STATE.discovery_requests, jwks_requests=STATE.jwks_requests,
                events=STATE.events, federated_jtis=STATE.federated_jtis, dpop_proofs=STATE.dpop_proofs,
            )

    @app.post("/admin/set")
    def admin_set():
        body = request.get_json(force=True)
        with STATE.lock:
            if "mode" in body:
                STATE.mode = body["mode"]
            if "delay" in body:
                STATE.delay = float(body["delay"])
            if "expires_in" in body:
                STATE.expires_in = int(body["expires_in"])
            if "advertised_methods" in body:
                STATE.advertised_methods = body["advertised_methods"]
            if "shape" in body:
                STATE.shape = list(body["shape"])
            if "dpop_nonce" in body:
                STATE.dpop_nonce = body["dpop_nonce"]
        return jsonify(ok=True)

    @app.post("/admin/reset")
    def admin_reset():
        with STATE.lock:
            STATE.reset()
        return jsonify(ok=True)

    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--signing-key", required=True)
    parser.add_argument("--kid", default="interop-rs256")
    parser.add_argument("--issuer", required=True, help="issuer identifier (https://127.0.0.1:PORT)")
    parser.add_argument("--clients", required=True, help="JSON file: registered clients")
    parser.add_argument("--client-ca", help="CA whose client certificates the server asks for (tls_client_auth)")
    args = parser.parse_args()

    app = build_app(args)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        # Asked for, not required: the clients of every other method send none.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(args.client_ca)
    httpd = make_server("127.0.0.1", args.port, app, threaded=True, ssl_context=context)
    print(f"LISTENING {httpd.socket.getsockname()[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

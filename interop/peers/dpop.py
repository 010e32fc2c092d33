"""DPoP proof checks (RFC 9449 §4.3), with joserfc, shared by peers/authz.py and peers/upstream.py."""
from __future__ import annotations

import base64
import hashlib
import threading
import time

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

ALGORITHMS = ["ES256", "RS256", "PS256"]


class NeedsNonce(Exception):
    """The proof lacks the server's current nonce (answer use_dpop_nonce)."""


class Replay:
    """The jti values seen so far (RFC 9449 §11.1), for one server."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = set()

    def first_time(self, jti) -> bool:
        with self.lock:
            if jti in self.seen:
                return False
            self.seen.add(jti)
            return True


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(proof: str | None, method: str, url: str, replay: Replay, access_token: str | None = None,
           nonce: str | None = None) -> tuple[str, dict]:
    """Returns (the JWK thumbprint of the proof's key, the claims), or raises ValueError with the
    reason, or NeedsNonce. `url` is the request's URL without query and fragment."""
    if not proof:
        raise ValueError("no DPoP proof")
    try:
        header = jws.extract_compact(proof.encode()).protected
    except (JoseError, ValueError) as e:
        raise ValueError(f"malformed proof: {e}") from e
    if header.get("typ") != "dpop+jwt":
        raise ValueError(f"typ is {header.get('typ')!r}")
    if header.get("alg") not in ALGORITHMS:
        raise ValueError(f"alg {header.get('alg')!r}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or any(k in jwk for k in ("d", "p", "q", "dp", "dq", "qi")):
        raise ValueError("jwk missing or carrying a private key")
    key = JWKRegistry.import_key(jwk)
    try:
        claims = jwt.decode(proof, key, algorithms=ALGORITHMS).claims
    except JoseError as e:
        raise ValueError(f"signature: {e}") from e
    if claims.get("htm") != method:
        raise ValueError(f"htm {claims.get('htm')!r} is not {method!r}")
    if claims.get("htu") != url:
        raise ValueError(f"htu {claims.get('htu')!r} is not {url!r}")
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or abs(iat - time.time()) > 60:
        raise ValueError(f"iat {iat!r} not within 60 s")
    if access_token is not None and claims.get("ath") != b64(hashlib.sha256(access_token.encode()).digest()):
        raise ValueError("ath does not match the access token")
    if nonce is not None and claims.get("nonce") != nonce:
        raise NeedsNonce()
    if not isinstance(claims.get("jti"), str) or not replay.first_time(claims["jti"]):
        raise ValueError("jti missing or replayed")
    return key.thumbprint(), claims

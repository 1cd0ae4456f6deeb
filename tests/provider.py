"""A stand-in identity provider for tests: real keys, a real JWKS endpoint on loopback.

Keys are generated here with `cryptography` (Ed25519, P-256, RSA); tokens are signed with
PyJWT exactly as Better Auth or another provider would sign them.

    with JwksServer() as provider:
        key = provider.add_key("EdDSA")
        token = provider.mint(key, sub="user-1")
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "http://127.0.0.1:3000"
AUDIENCE = "http://127.0.0.1:3000"
SHARED_SECRET = "a-shared-secret-for-hs256-tokens-0123456789"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private_key: Any
    jwk: dict[str, Any]

    def public_pem(self) -> bytes:
        pem: bytes = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


def make_key(alg: str, kid: str | None = None, *, publish_alg: bool = True) -> SigningKey:
    kid = kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
    private_key: Any
    if alg == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    elif alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    elif alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    else:
        raise ValueError(alg)
    jwk["kid"] = kid
    if publish_alg:
        jwk["alg"] = alg
    return SigningKey(kid=kid, alg=alg, private_key=private_key, jwk=jwk)


def claims(
    *,
    sub: str | None = None,
    iss: str = ISSUER,
    aud: str = AUDIENCE,
    expires_in: timedelta = timedelta(minutes=15),
    **extra: Any,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": sub or f"ba-{uuid.uuid4().hex[:16]}",
        "iss": iss,
        "aud": aud,
        "iat": now,
        "exp": now + expires_in,
    }
    payload.update(extra)
    return payload


def sign(key: SigningKey, payload: dict[str, Any], **header: Any) -> str:
    headers = {"kid": key.kid, **header}
    return jwt.encode(payload, key.private_key, algorithm=key.alg, headers=headers)


def sign_shared(payload: dict[str, Any], secret: str = SHARED_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


class JwksServer:
    """GET /api/auth/jwks answers with the published keys; `mode` simulates outages."""

    PATH = "/api/auth/jwks"

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.extra_jwks: list[dict[str, Any]] = []
        self.mode = "ok"  # "ok", "error" (HTTP 503) or "hang" (answers after `hang_seconds`)
        self.hang_seconds = 5.0
        self.requests = 0
        self._stop_hanging = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if self.path != server.PATH:
                    self.send_error(404)
                    return
                if server.mode == "hang":
                    server._stop_hanging.wait(server.hang_seconds)
                if server.mode == "error":
                    self.send_error(503)
                    return
                body = json.dumps(
                    {"keys": [key.jwk for key in server.keys] + server.extra_jwks}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{self.PATH}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def add_key(self, alg: str, **kwargs: Any) -> SigningKey:
        key = make_key(alg, **kwargs)
        self.keys.append(key)
        return key

    def mint(self, key: SigningKey, **claim_args: Any) -> str:
        return sign(key, claims(**claim_args))

    def close(self) -> None:
        self._stop_hanging.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> "JwksServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port_url() -> str:
    """A JWKS URL nothing listens on: connections are refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{JwksServer.PATH}"


def elapsed(start: float) -> float:
    return time.monotonic() - start

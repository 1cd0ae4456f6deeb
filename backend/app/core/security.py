"""Password hashing, access tokens (JWT) and refresh tokens. No web framework in here."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from app.core.config import Settings

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
# Far longer than any token we mint; refuse before doing any crypto on junk.
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, forged, expired or not an access token."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    token_version: int
    issued_at: datetime
    expires_at: float  # `exp`, seconds since the epoch


def make_password_hash(settings: Settings) -> PasswordHash:
    # Argon2 hashes new passwords; bcrypt hashes (e.g. imported accounts) still verify.
    return PasswordHash(
        (
            Argon2Hasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_cost,
                parallelism=settings.argon2_parallelism,
            ),
            BcryptHasher(),
        )
    )


def create_access_token(
    *, user_id: uuid.UUID, token_version: int, settings: Settings, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(minutes=settings.access_token_expire_minutes),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "type": ACCESS_TOKEN_TYPE,
        "ver": token_version,
    }
    return jwt.encode(payload, settings.signing_key(), algorithm=ALGORITHM)


def decode_access_token(token: str, *, settings: Settings) -> AccessClaims:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token too long")
    try:
        payload = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    if payload.get("type") != ACCESS_TOKEN_TYPE:
        raise InvalidTokenError("not an access token")
    version = payload.get("ver", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidTokenError("bad token version")
    try:
        user_id = uuid.UUID(payload["sub"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidTokenError("bad subject") from exc
    return AccessClaims(
        user_id=user_id,
        token_version=version,
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=float(payload["exp"]),
    )


def new_refresh_token() -> str:
    """An opaque, high-entropy token; only its hash is stored."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, so no salt or
    # stretching is needed, and lookups by hash must be exact.
    return hashlib.sha256(token.encode()).hexdigest()

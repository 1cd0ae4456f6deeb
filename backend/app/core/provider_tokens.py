"""Access tokens minted by an external provider (Better Auth, or any issuer that publishes a JWKS).

A token is routed here when its (unverified) `iss` is AUTH_ISSUER; from then on everything
is verified: the signature with a key from the provider's JWKS (the algorithm is the key's,
and the token's `alg` header must agree) or, when opted in, HS256 with AUTH_SHARED_SECRET;
then `iss`, `aud`, `exp` and `sub`, with a small leeway for clock skew.
"""

import logging
from dataclasses import dataclass
from typing import Any

import jwt
from email_validator import EmailNotValidError, validate_email
from pydantic import SecretStr

from app.core.config import Settings
from app.core.jwks import JwksCache
from app.core.security import MAX_TOKEN_LENGTH, InvalidTokenError

logger = logging.getLogger("app.provider_tokens")

SHARED_SECRET_ALGORITHM = "HS256"  # noqa: S105 - an algorithm name, not a secret
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
# Columns users.auth_issuer / users.auth_subject hold at most this many characters.
MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 100


class ProviderTokenError(InvalidTokenError):
    """A provider token that fails verification; `expired` tells the client to get a new one."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class ProviderClaims:
    issuer: str
    subject: str
    email: str | None
    name: str | None
    expires_at: float  # `exp`, seconds since the epoch
    not_before: float | None  # `nbf`, if the token has one


def unverified_issuer(token: str) -> str | None:
    """`iss` read without verification, only to pick a verifier. None if unreadable."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = payload.get("iss")
    return issuer if isinstance(issuer, str) else None


class ProviderVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway: int,
        jwks: JwksCache | None,
        shared_secret: SecretStr | None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.jwks = jwks
        self._shared_secret = shared_secret

    @classmethod
    def from_settings(cls, settings: Settings) -> "ProviderVerifier | None":
        if not settings.provider_enabled:
            return None
        if settings.auth_issuer is None or settings.auth_audience is None:
            raise RuntimeError("provider tokens need AUTH_ISSUER and AUTH_AUDIENCE")
        jwks = None
        if settings.auth_jwks_url is not None:
            jwks = JwksCache(
                settings.auth_jwks_url,
                timeout=settings.auth_jwks_timeout_seconds,
                cooldown=settings.auth_jwks_refetch_cooldown_seconds,
                max_age=settings.auth_jwks_max_age_seconds,
            )
        return cls(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway=settings.jwt_leeway_seconds,
            jwks=jwks,
            shared_secret=settings.auth_shared_secret,
        )

    def handles(self, token: str) -> bool:
        return unverified_issuer(token) == self.issuer

    def _key_for(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise ProviderTokenError("malformed token") from exc
        alg = header.get("alg")
        if alg == SHARED_SECRET_ALGORITHM:
            if self._shared_secret is None:
                raise ProviderTokenError("HS256 is not accepted (AUTH_SHARED_SECRET is not set)")
            return self._shared_secret.get_secret_value(), SHARED_SECRET_ALGORITHM
        if self.jwks is None:
            raise ProviderTokenError(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise ProviderTokenError("malformed kid")
        jwk = self.jwks.get(kid)
        if jwk is None:
            raise ProviderTokenError("unknown signing key")
        # The key decides the algorithm; a token claiming another one is refused outright.
        if alg != jwk.algorithm_name:
            raise ProviderTokenError("algorithm does not match the signing key")
        return jwk.key, jwk.algorithm_name

    def verify(self, token: str) -> ProviderClaims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ProviderTokenError("token too long")
        key, algorithm = self._key_for(token)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ProviderTokenError("token expired", expired=True) from exc
        except jwt.PyJWTError as exc:
            raise ProviderTokenError(str(exc)) from exc
        subject = payload["sub"]
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_ID_LENGTH:
            raise ProviderTokenError("bad subject")
        return ProviderClaims(
            issuer=self.issuer,
            subject=subject,
            email=_verified_email(payload),
            name=_name(payload),
            expires_at=float(payload["exp"]),
            not_before=_number(payload.get("nbf")),
        )


def _number(value: Any) -> float | None:
    # PyJWT has checked `nbf` when present: a number (not a bool) or an ISO string it refused.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _verified_email(payload: dict[str, Any]) -> str | None:
    # Only an address the provider vouches for is kept: otherwise anyone could sign up at the
    # provider as someone@else and squat that address here (see specs/1-auth/spec.md).
    verified = payload.get("email_verified", payload.get("emailVerified"))
    email = payload.get("email")
    if verified is not True or not isinstance(email, str) or len(email) > 320:
        return None
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _name(payload: dict[str, Any]) -> str | None:
    name = payload.get("name")
    if not isinstance(name, str):
        return None
    name = name.replace("\x00", "").strip()[:MAX_NAME_LENGTH]
    return name or None

"""Who is calling: a bearer token, verified and checked against the account it names.

Both steps are remembered per process (see core.token_cache and core.callers), so a request
with a token seen before is authenticated from memory, on the event loop, with no query:

- `cached(token)`: memory only; None when something must be verified or read.
- `authenticate(session, token)`: the full check, for a worker thread: it may verify a
  signature, fetch the provider's keys, read the account or create a provider user.

Every failure is NotAuthenticated (or the provider token errors), the same 401 either way.
"""

import uuid

from sqlmodel import Session

from app.core.callers import Caller, CallerCache
from app.core.config import Settings
from app.core.errors import ExpiredProviderToken, InvalidProviderToken, NotAuthenticated
from app.core.provider_tokens import ProviderClaims, ProviderTokenError, ProviderVerifier
from app.core.security import AccessClaims, InvalidTokenError, decode_access_token
from app.core.token_cache import TokenCache
from app.services import users as user_service


class Authenticator:
    def __init__(self, settings: Settings, verifier: ProviderVerifier | None) -> None:
        self.settings = settings
        self.verifier = verifier
        size, leeway = settings.auth_cache_size, settings.jwt_leeway_seconds
        self.local_tokens: TokenCache[AccessClaims] = TokenCache(size, leeway_seconds=leeway)
        self.provider_tokens: TokenCache[ProviderClaims] = TokenCache(size, leeway_seconds=leeway)
        self.callers = CallerCache(size, ttl_seconds=settings.auth_cache_ttl_seconds)
        self._key_withdrawals = 0

    def cached(self, token: str) -> Caller | None:
        """The caller, if both the token and their account are remembered; else None."""
        claims = self.local_tokens.get(token)
        if claims is not None:
            caller = self.callers.get(claims.user_id)
            return None if caller is None else _check_version(caller, claims)
        provider = self._provider_claims(token)
        if provider is not None:
            return self.callers.get_by_identity(provider.issuer, provider.subject)
        return None

    def authenticate(self, session: Session, token: str) -> Caller:
        """Verify the token and read the account it names (provider users are created on
        first sight). Leaves no transaction open on the session."""
        try:
            if self.verifier is not None and self.verifier.handles(token):
                return self._provider_caller(session, self.verifier, token)
            if not self.settings.local_accounts_enabled:
                raise NotAuthenticated
            return self._local_caller(session, token)
        finally:
            if session.in_transaction():
                session.rollback()

    def forget(self, user_id: uuid.UUID) -> None:
        """After a change to the account that commits in this process: check it afresh."""
        self.callers.forget(user_id)

    def _local_caller(self, session: Session, token: str) -> Caller:
        try:
            claims = decode_access_token(token, settings=self.settings)
        except InvalidTokenError as exc:
            raise NotAuthenticated from exc
        self.local_tokens.put(token, claims, expires_at=claims.expires_at)
        caller = self.callers.get(claims.user_id)
        if caller is None:
            generation = self.callers.generation
            caller = user_service.get_caller(session=session, user_id=claims.user_id)
            if caller is None:  # deleted
                raise NotAuthenticated
            self.callers.put(caller, generation)
        return _check_version(caller, claims)

    def _provider_claims(self, token: str) -> ProviderClaims | None:
        jwks = self.verifier.jwks if self.verifier is not None else None
        if jwks is not None and jwks.withdrawals != self._key_withdrawals:
            # A signing key was withdrawn or replaced: what it signed must be verified again.
            self._key_withdrawals = jwks.withdrawals
            self.provider_tokens.clear()
        return self.provider_tokens.get(token)

    def _provider_caller(self, session: Session, verifier: ProviderVerifier, token: str) -> Caller:
        try:
            claims = verifier.verify(token)
        except ProviderTokenError as exc:
            raise (ExpiredProviderToken if exc.expired else InvalidProviderToken) from exc
        self.provider_tokens.put(
            token, claims, expires_at=claims.expires_at, not_before=claims.not_before
        )
        caller = self.callers.get_by_identity(claims.issuer, claims.subject)
        if caller is None:
            generation = self.callers.generation
            user = user_service.get_or_create_provider_user(
                session=session,
                issuer=claims.issuer,
                subject=claims.subject,
                email=claims.email,
                name=claims.name,
            )
            caller = user_service.caller_of(user)
            self.callers.put(caller, generation)
        return caller


def _check_version(caller: Caller, claims: AccessClaims) -> Caller:
    """A local token is good while its account has not revoked it since (token_version) and
    the account is a local one."""
    if caller.token_version != claims.token_version or caller.auth_issuer is not None:
        raise NotAuthenticated
    return caller

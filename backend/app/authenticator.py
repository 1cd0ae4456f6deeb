"""Who is calling: a bearer token, verified and checked against the account it names.

Both steps are remembered per process (see core.token_cache and core.callers), so a request
with a token seen before is authenticated from memory, on the event loop, with no query:

- `cached(token)`: memory only; None when something must be verified or read.
- `authenticate(session, token)`: the full check, for a worker thread: it may verify a
  signature, fetch the provider's keys, read the account or create a provider user.

A bearer token is one of three kinds: a personal access token (`tap_...`, looked up by its
hash; the caller carries the token's scopes), a provider token (when a provider is set up and
recognises it), or an access token from a login. The last two grant every scope.

Every failure is NotAuthenticated (or the provider token errors), the same 401 either way.
"""

import threading
import time
import uuid
from datetime import datetime

from sqlmodel import Session

from app.core.callers import Caller, CallerCache
from app.core.config import Settings
from app.core.errors import ExpiredProviderToken, InvalidProviderToken, NotAuthenticated
from app.core.personal_tokens import (
    LAST_USED_RESOLUTION_SECONDS,
    hash_personal_token,
    is_personal_token,
)
from app.core.provider_tokens import ProviderClaims, ProviderTokenError, ProviderVerifier
from app.core.security import AccessClaims, InvalidTokenError, decode_access_token
from app.core.token_cache import TokenCache
from app.models.base import utcnow
from app.services import personal_tokens as token_service
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
        # When each personal token's use was last written (seconds since the epoch).
        self._last_use: dict[uuid.UUID, float] = {}
        self._last_use_lock = threading.Lock()

    def cached(self, token: str) -> Caller | None:
        """The caller, if both the token and their account are remembered; else None."""
        if is_personal_token(token):
            grant = self.callers.get_grant(hash_personal_token(token))
            if grant is None:
                return None
            caller = self.callers.get(grant.user_id)
            return None if caller is None else caller.with_grant(grant)
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
            if is_personal_token(token):
                return self._personal_caller(session, token)
            if self.verifier is not None and self.verifier.handles(token):
                return self._provider_caller(session, self.verifier, token)
            if not self.settings.local_accounts_enabled:
                raise NotAuthenticated
            return self._local_caller(session, token)
        finally:
            if session.in_transaction():
                session.rollback()

    def forget(self, user_id: uuid.UUID) -> None:
        """After a change to the account, or a revocation of one of its personal tokens,
        that commits in this process: check it and its tokens afresh."""
        self.callers.forget(user_id)

    def use_due(self, caller: Caller) -> bool:
        """Whether this request should record its personal token's use: at most once a
        minute per token and process (record_use then skips what another process wrote)."""
        token_id = caller.personal_token_id
        if token_id is None:
            return False
        now = time.time()
        last = self._last_use.get(token_id)
        if last is not None and now - last < LAST_USED_RESOLUTION_SECONDS:
            return False  # the common case, without the lock
        with self._last_use_lock:
            last = self._last_use.get(token_id)
            if last is not None and now - last < LAST_USED_RESOLUTION_SECONDS:
                return False
            if len(self._last_use) >= max(self.settings.auth_cache_size, 1):
                self._last_use.clear()
            self._last_use[token_id] = now
            return True

    def record_use(self, session: Session, caller: Caller) -> None:
        """Write the personal token's `last_used_at` (a short transaction of its own)."""
        if caller.personal_token_id is None:
            return
        token_service.record_use(
            session=session, user_id=caller.id, token_id=caller.personal_token_id, now=utcnow()
        )

    def _seen_used(self, token_id: uuid.UUID, last_used_at: datetime | None) -> None:
        if last_used_at is None:
            return
        with self._last_use_lock:
            known = self._last_use.get(token_id, 0.0)
            self._last_use[token_id] = max(known, last_used_at.timestamp())

    def _personal_caller(self, session: Session, token: str) -> Caller:
        token_hash = hash_personal_token(token)
        generation = self.callers.generation
        found = token_service.find_grant(session=session, token_hash=token_hash, now=utcnow())
        if found is None:  # unknown, revoked or expired
            raise NotAuthenticated
        grant, last_used_at = found
        caller = self.callers.get(grant.user_id)
        if caller is None:
            caller = user_service.get_caller(session=session, user_id=grant.user_id)
            if caller is None:  # deleted (its tokens went with it; a race)
                raise NotAuthenticated
            self.callers.put(caller, generation)
        self.callers.put_grant(token_hash, grant, generation)
        self._seen_used(grant.token_id, last_used_at)
        return caller.with_grant(grant)

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

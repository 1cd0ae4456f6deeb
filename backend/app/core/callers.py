"""The caller of a request, and a per-process cache of what checking them needs.

Every authenticated request must refuse a token of a deleted account, or one issued before a
password change or logout-all (`token_version`). Reading the account on every request costs a
query; this cache keeps the few fields the check needs, per user, and forgets an account:

- at once, in the process that changed it (`forget`, called after the change commits);
- in every other worker and instance when the change's notification arrives (PostgreSQL
  LISTEN/NOTIFY, see app.notifications), normally within milliseconds;
- after `ttl_seconds` in any case, a backstop should a notification go missing; and after
  `ttl_without_notifications` (1 s) while no notifications can arrive: on SQLite, or while
  the listener is disconnected. That second figure is the documented staleness bound.

A read that raced with an invalidation is not stored: `put` takes the generation read before
the query, and any `forget` since then makes it stale.

Verified personal access tokens (`PersonalGrant`, keyed by the token's hash) live here too,
under the same rules: revoking one notifies with its owner's id (migration 0011), and
forgetting an account forgets its tokens, so a revocation takes effect exactly as a
logout-all does.
"""

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from app.core.personal_tokens import PersonalGrant

# Without notifications, how long another process's change can go unseen.
STALENESS_BOUND_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user, as every authenticated request needs them: the fields of `users`
    that checking a token and serving a request read. Handlers that change the account load
    the full record (services.users.require_user)."""

    id: uuid.UUID
    email: str | None
    timezone: str
    auth_subject: str | None
    auth_issuer: str | None
    # Bumped to revoke every access token minted before (password change, logout-all).
    token_version: int
    # What this request may do: None (every scope) for a login or provider token, else the
    # personal access token's scopes; and that token's id.
    scopes: frozenset[str] | None = None
    personal_token_id: uuid.UUID | None = None

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def with_grant(self, grant: PersonalGrant) -> "Caller":
        """This account, as a request with the personal token `grant` sees it."""
        # Built directly: dataclasses.replace costs several times more, on every request.
        return Caller(
            self.id,
            self.email,
            self.timezone,
            self.auth_subject,
            self.auth_issuer,
            self.token_version,
            grant.scopes,
            grant.token_id,
        )


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: Caller
    stored_at: float


@dataclass(frozen=True, slots=True)
class _GrantEntry:
    grant: PersonalGrant
    stored_at: float


class CallerCache:
    def __init__(self, max_entries: int, *, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.ttl_without_notifications = min(ttl_seconds, STALENESS_BOUND_SECONDS)
        self._entries: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self._by_identity: dict[tuple[str, str], uuid.UUID] = {}
        self._grants: OrderedDict[str, _GrantEntry] = OrderedDict()
        self._grants_by_user: dict[uuid.UUID, set[str]] = {}
        self._generation = 0
        self._notified = False
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """Take before reading an account from the database; pass to `put`."""
        return self._generation

    def _ttl(self) -> float:
        return self.ttl_seconds if self._notified else self.ttl_without_notifications

    def get(self, user_id: uuid.UUID, *, now: float | None = None) -> Caller | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None:
                return None
            if now - entry.stored_at >= self._ttl():
                self._drop(user_id)
                return None
            self._entries.move_to_end(user_id)
            return entry.caller

    def get_by_identity(self, issuer: str, subject: str) -> Caller | None:
        """A provider account by its (issuer, subject)."""
        user_id = self._by_identity.get((issuer, subject))
        return None if user_id is None else self.get(user_id)

    def put(self, caller: Caller, generation: int, *, now: float | None = None) -> None:
        if self.max_entries == 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            if generation != self._generation:
                return  # something was forgotten since this caller was read: maybe them
            self._entries[caller.id] = _Entry(caller, now)
            self._entries.move_to_end(caller.id)
            if caller.auth_issuer is not None and caller.auth_subject is not None:
                self._by_identity[caller.auth_issuer, caller.auth_subject] = caller.id
            while len(self._entries) > self.max_entries:
                oldest = next(iter(self._entries))
                self._drop(oldest)

    def get_grant(
        self, token_hash: str, *, now: float | None = None, clock: float | None = None
    ) -> PersonalGrant | None:
        """A personal token verified before, unexpired (`clock`: seconds since the epoch)
        and not older here than the account entries may be."""
        now = time.monotonic() if now is None else now
        clock = time.time() if clock is None else clock
        with self._lock:
            entry = self._grants.get(token_hash)
            if entry is None:
                return None
            if now - entry.stored_at >= self._ttl() or clock >= entry.grant.expires_at:
                self._drop_grant(token_hash)
                return None
            self._grants.move_to_end(token_hash)
            return entry.grant

    def put_grant(
        self, token_hash: str, grant: PersonalGrant, generation: int, *, now: float | None = None
    ) -> None:
        if self.max_entries == 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            if generation != self._generation:
                return  # a revocation may have happened since the token was read
            self._grants[token_hash] = _GrantEntry(grant, now)
            self._grants.move_to_end(token_hash)
            self._grants_by_user.setdefault(grant.user_id, set()).add(token_hash)
            while len(self._grants) > self.max_entries:
                self._drop_grant(next(iter(self._grants)))

    def forget(self, user_id: uuid.UUID) -> None:
        """The account changed or is gone, or one of its personal tokens was revoked: read
        them from the database next time."""
        with self._lock:
            self._generation += 1
            self._drop(user_id)
            for token_hash in self._grants_by_user.pop(user_id, set()):
                self._grants.pop(token_hash, None)

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._clear()

    def set_notified(self, notified: bool) -> None:
        """Whether change notifications reach this process. Either way the entries go: any
        change made while they did not arrive was missed."""
        with self._lock:
            self._notified = notified
            self._generation += 1
            self._clear()

    def _clear(self) -> None:
        self._entries.clear()
        self._by_identity.clear()
        self._grants.clear()
        self._grants_by_user.clear()

    def _drop_grant(self, token_hash: str) -> None:
        entry = self._grants.pop(token_hash, None)
        if entry is None:
            return
        hashes = self._grants_by_user.get(entry.grant.user_id)
        if hashes is not None:
            hashes.discard(token_hash)
            if not hashes:
                del self._grants_by_user[entry.grant.user_id]

    def _drop(self, user_id: uuid.UUID) -> None:
        entry = self._entries.pop(user_id, None)
        if entry is None:
            return
        issuer, subject = entry.caller.auth_issuer, entry.caller.auth_subject
        if issuer is not None and subject is not None:
            self._by_identity.pop((issuer, subject), None)

    def __len__(self) -> int:
        return len(self._entries)

"""A bounded cache of verified bearer tokens, keyed by the whole token string.

Verifying a JWT's signature is the most expensive step of authenticating a request, and a
client sends the same access token for its whole lifetime (15 minutes by default). So each
process remembers the claims of tokens it has verified, as PostgREST does. A hit still
re-checks `exp` and `nbf` against the clock, so a cached token expires exactly when the
token itself does. Only tokens that passed every check are stored; garbage is never cached,
so it cannot push good entries out faster than verified tokens arrive.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

Claims = TypeVar("Claims")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Claims]):
    claims: Claims
    expires_at: float  # `exp`, seconds since the epoch
    not_before: float  # `nbf`, or minus infinity


class TokenCache(Generic[Claims]):
    """Least-recently-used, at most `max_entries` tokens. Safe to share between threads."""

    def __init__(self, max_entries: int, *, leeway_seconds: float) -> None:
        self.max_entries = max_entries
        self.leeway = leeway_seconds
        self._entries: OrderedDict[str, _Entry[Claims]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, *, now: float | None = None) -> Claims | None:
        """The claims of a verified token that is valid right now (within the leeway)."""
        if self.max_entries == 0:
            return None
        now = time.time() if now is None else now
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if now >= entry.expires_at + self.leeway or now < entry.not_before - self.leeway:
                # Expired (or, for a clock that went back, not yet valid): verify afresh,
                # which refuses it with the proper reason.
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry.claims

    def put(
        self, token: str, claims: Claims, *, expires_at: float, not_before: float | None = None
    ) -> None:
        if self.max_entries == 0:
            return
        entry = _Entry(claims, expires_at, float("-inf") if not_before is None else not_before)
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

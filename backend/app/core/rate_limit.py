"""Rate limits on the `limits` library: fixed windows, counted in memory or in Redis.

A hit is one atomic increment in the storage (Redis `INCR` + `EXPIRE` in a Lua script), so
concurrent requests across processes sharing Redis can never let more than the quota through.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage

from app.core.config import Settings

logger = logging.getLogger("app.rate_limit")

LOGIN_ACCOUNT = "login-account"
LOGIN_ADDRESS = "login-address"
REGISTER_ADDRESS = "register-address"
USER = "user"
CALENDAR_FEED = "calendar-feed"


@dataclass(frozen=True, slots=True)
class LimitState:
    """One policy's standing after a hit, as reported in the RateLimit headers."""

    policy: str
    quota: int
    window: int
    remaining: int
    reset: int

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


def account_key(email: str) -> str:
    # Counters are keyed by a digest, so the limiter's storage holds no email addresses.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.prefix = settings.rate_limit_key_prefix
        self.policies: dict[str, RateLimitItem] = {
            LOGIN_ACCOUNT: parse(settings.rate_limit_login_per_account),
            LOGIN_ADDRESS: parse(settings.rate_limit_login_per_address),
            REGISTER_ADDRESS: parse(settings.rate_limit_register_per_address),
            USER: parse(settings.rate_limit_per_user),
            CALENDAR_FEED: parse(settings.rate_limit_per_calendar_feed),
        }
        self.storage: Storage | None = None
        # When each window we have seen ends, so a hit costs one storage round trip (the
        # increment) instead of two: fixed windows never move once started.
        self._window_ends: dict[str, float] = {}
        if self.enabled:
            # Made only when enabled: the memory storage runs an expiry timer thread.
            self.storage = (
                RedisStorage(settings.redis_url) if settings.redis_url else MemoryStorage()
            )

    def hit(self, policy: str, key: str, cost: int = 1) -> LimitState | None:
        """Count one request (or `cost` of them: a batch's operations) against a policy;
        None when limiting is off or storage fails."""
        if self.storage is None:
            return None
        item = self.policies[policy]
        storage_key = item.key_for(self.prefix, policy, key)
        window = item.get_expiry()
        try:
            count = self.storage.incr(storage_key, window, amount=cost)
            now = time.time()
            expires_at = self._window_ends.get(storage_key, 0.0)
            if count == cost:
                expires_at = now + window  # this hit opened the window
            elif expires_at <= now:
                expires_at = self.storage.get_expiry(storage_key)
            self._remember(storage_key, expires_at, now)
        except Exception:
            # Fail open: an unreachable Redis must not take the whole API down with it.
            logger.exception("rate-limit storage failed; request allowed")
            return None
        reset = max(0, min(window, math.ceil(expires_at - now)))
        return LimitState(
            policy=policy,
            quota=item.amount,
            window=window,
            remaining=item.amount - count,
            reset=reset,
        )

    @property
    def blocking(self) -> bool:
        """Whether a hit waits on the network (Redis): then it belongs on a worker thread,
        not on the event loop. Counting in memory takes microseconds."""
        return isinstance(self.storage, RedisStorage)

    def hit_each(self, checks: list[tuple[str, str]], cost: int = 1) -> list[LimitState]:
        """Count one request against each (policy, key) in order, stopping at the first one
        over its quota (so a flood caught by one policy does not use up the next one's)."""
        states: list[LimitState] = []
        for policy, key in checks:
            state = self.hit(policy, key, cost)
            if state is None:
                continue
            states.append(state)
            if state.exceeded:
                break
        return states

    def _remember(self, key: str, expires_at: float, now: float) -> None:
        if len(self._window_ends) > 10_000:  # bounded: forget windows that have ended
            self._window_ends = {k: v for k, v in self._window_ends.items() if v > now}
        self._window_ends[key] = expires_at

    def close(self) -> None:
        if isinstance(self.storage, MemoryStorage):
            self.storage.timer.cancel()


def policy_header(states: list[LimitState]) -> str:
    """`RateLimit-Policy`, draft-ietf-httpapi-ratelimit-headers-10: "name";q=..;w=.."""
    return ", ".join(f'"{s.policy}";q={s.quota};w={s.window}' for s in states)


def ratelimit_header(states: list[LimitState]) -> str:
    """`RateLimit`, same draft: "name";r=<remaining>;t=<seconds to reset>."""
    return ", ".join(f'"{s.policy}";r={max(0, s.remaining)};t={s.reset}' for s in states)

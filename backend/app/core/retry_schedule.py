"""When a failed webhook delivery is tried again, and when an endpoint is switched off.

Pure functions, so the delivery worker (later) can call them inside the transaction that
records an attempt:

    failures = consecutive_failures_after(webhook.consecutive_failures, delivered=result.ok)
    if should_disable(failures, disable_after=settings.webhook_disable_after):
        ...disable the webhook and keep result.detail as the reason shown to the owner
    elif not result.ok:
        delivery.next_attempt_at = next_attempt_at(
            attempt_number=delivery.attempts, first_attempt_at=delivery.first_attempt_at,
            now=now, rng=random_generator,
        )  # None: the 24 h are over, the delivery has failed for good

Backoff is exponential with full jitter: after attempt n the wait is drawn uniformly between 0
and min(MAX_DELAY, BASE_DELAY * 2**(n-1)), so many deliveries failing at once (an endpoint
down) do not come back in a burst. A floor of MIN_DELAY keeps a zero draw from retrying in the
same instant.
"""

from datetime import datetime, timedelta
from typing import Protocol

BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=2)
MIN_DELAY = timedelta(seconds=1)
RETRY_WINDOW = timedelta(hours=24)
# Past this the doubling has long passed MAX_DELAY; stopping it keeps the number small.
_MAX_EXPONENT = 32


class RandomSource(Protocol):
    """What the schedule needs of a generator: `random.Random` and `SystemRandom` fit."""

    def random(self) -> float: ...


def next_attempt_at(
    attempt_number: int,
    first_attempt_at: datetime,
    now: datetime,
    rng: RandomSource,
    *,
    base_delay: timedelta = BASE_DELAY,
    max_delay: timedelta = MAX_DELAY,
    window: timedelta = RETRY_WINDOW,
) -> datetime | None:
    """When to try again after failed attempt `attempt_number` (1 for the first), or None.

    None means the next try would fall after `first_attempt_at + window`: give up.
    """
    if attempt_number < 1:
        raise ValueError("attempt_number starts at 1")
    if first_attempt_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    ceiling = min(max_delay, base_delay * (1 << min(attempt_number - 1, _MAX_EXPONENT)))
    delay = max(MIN_DELAY, ceiling * rng.random())
    when = now + delay
    if when > first_attempt_at + window:
        return None
    return when


def consecutive_failures_after(previous: int, *, delivered: bool) -> int:
    """The endpoint's count of failures in a row after one more attempt: a success resets it."""
    return 0 if delivered else previous + 1


def should_disable(consecutive_failures: int, *, disable_after: int) -> bool:
    """True once an endpoint has failed `disable_after` times in a row (WEBHOOK_DISABLE_AFTER)."""
    if disable_after < 1:
        raise ValueError("disable_after must be at least 1")
    return consecutive_failures >= disable_after

"""Backoff with full jitter inside the 24 h window, and the switch-off after failures in a row."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.retry_schedule import (
    BASE_DELAY,
    MAX_DELAY,
    MIN_DELAY,
    RETRY_WINDOW,
    consecutive_failures_after,
    next_attempt_at,
    should_disable,
)

FIRST = datetime(2026, 1, 1, tzinfo=UTC)


class Fixed:
    """A generator that always draws the same number in [0, 1)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def delay_after(attempt: int, draw: float, now: datetime = FIRST) -> timedelta:
    when = next_attempt_at(attempt, FIRST, now, Fixed(draw))
    assert when is not None
    return when - now


def test_the_ceiling_doubles_up_to_the_maximum() -> None:
    # A draw just under 1 gives (almost) the ceiling: 10 s, 20 s, 40 s, ... then 2 h.
    ceilings = [delay_after(attempt, 0.999999) for attempt in range(1, 14)]
    for attempt, ceiling in enumerate(ceilings, start=1):
        expected = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))
        assert expected * 0.99 <= ceiling <= expected
    assert ceilings[-1] > MAX_DELAY * 0.99


def test_full_jitter_spreads_the_wait_over_the_whole_range() -> None:
    assert delay_after(5, 0.5) == BASE_DELAY * 16 * 0.5
    assert delay_after(5, 0.25) == BASE_DELAY * 16 * 0.25
    # A zero draw still waits a moment rather than retrying at once.
    assert delay_after(5, 0.0) == MIN_DELAY


def test_draws_from_a_real_generator_differ() -> None:
    rng = random.Random(7)
    delays = {next_attempt_at(8, FIRST, FIRST, rng) for _ in range(20)}
    assert len(delays) == 20


def test_no_retry_past_24_hours_after_the_first_attempt() -> None:
    late = FIRST + RETRY_WINDOW - timedelta(minutes=1)
    assert next_attempt_at(30, FIRST, late, Fixed(0.0)) == late + MIN_DELAY
    assert next_attempt_at(30, FIRST, late, Fixed(0.5)) is None
    assert next_attempt_at(30, FIRST, FIRST + RETRY_WINDOW, Fixed(0.0)) is None


def test_very_high_attempt_numbers_stay_at_the_maximum() -> None:
    assert delay_after(10_000, 0.999999) <= MAX_DELAY


@given(
    attempt=st.integers(min_value=1, max_value=500),
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=RETRY_WINDOW * 2),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_every_retry_is_soon_enough_and_inside_the_window(
    attempt: int, elapsed: timedelta, draw: float
) -> None:
    now = FIRST + elapsed
    ceiling = max(MIN_DELAY, min(MAX_DELAY, BASE_DELAY * 2 ** min(attempt - 1, 40)))
    when = next_attempt_at(attempt, FIRST, now, Fixed(draw))
    if when is None:
        # Giving up only when less than one ceiling of the window is left.
        assert now + ceiling > FIRST + RETRY_WINDOW
    else:
        assert now < when <= FIRST + RETRY_WINDOW
        assert when - now <= ceiling


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"attempt_number": 0}, "starts at 1"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"first_attempt_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "attempt_number": 1,
        "first_attempt_at": FIRST,
        "now": FIRST,
        "rng": Fixed(0.5),
    }
    values.update(arguments)
    with pytest.raises(ValueError, match=message):
        next_attempt_at(**values)  # type: ignore[arg-type]


def test_failures_count_up_and_a_success_resets_them() -> None:
    count = 0
    for _ in range(3):
        count = consecutive_failures_after(count, delivered=False)
    assert count == 3
    assert consecutive_failures_after(count, delivered=True) == 0


def test_an_endpoint_is_disabled_at_the_limit() -> None:
    assert not should_disable(49, disable_after=50)
    assert should_disable(50, disable_after=50)
    assert should_disable(51, disable_after=50)
    with pytest.raises(ValueError, match="at least 1"):
        should_disable(3, disable_after=0)

"""Hypothesis strategies shared by the recurrence tests: RRULE texts that are mostly valid,
time zones, and the profile the properties run with."""

import os
from datetime import UTC, date, datetime
from zoneinfo import available_timezones

from hypothesis import settings
from hypothesis import strategies as st

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

# Derandomized and bounded for `make test`; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) goes wide.
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"


def profile(examples: int) -> settings:
    return settings(
        max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "1000")) if FUZZ else examples,
        derandomize=not FUZZ,
        database=None,
        deadline=None,
    )


# Every zone the system knows (tzdata), in a stable order so derandomized runs repeat.
ZONES = sorted(available_timezones())
zones = st.sampled_from(ZONES)

nonzero = st.integers(-31, 31).filter(bool)


def _listed(values: list[object]) -> str:
    return ",".join(map(str, values))


@st.composite
def rule_texts(draw: st.DrawFn, *, ends: bool = True) -> str:
    """An RRULE in any part order and letter case; most are valid, some match no date."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 3))}")
    selectors = False
    if draw(st.booleans()):
        numbered = freq in ("MONTHLY", "YEARLY") and draw(st.booleans())
        ordinals = st.integers(-4, 4).filter(bool) if numbered else st.just(None)
        days = draw(
            st.lists(st.tuples(ordinals, st.sampled_from(WEEKDAYS)), min_size=1, max_size=4)
        )
        parts.append("BYDAY=" + ",".join(f"{n or ''}{day}" for n, day in days))
        selectors = True
    if freq != "WEEKLY" and draw(st.booleans()):
        parts.append("BYMONTHDAY=" + _listed(draw(st.lists(nonzero, min_size=1, max_size=3))))
        selectors = True
    if draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
        parts.append("BYMONTH=" + _listed(months))
        selectors = True
    if selectors and draw(st.booleans()):
        positions = draw(st.lists(st.integers(-3, 3).filter(bool), min_size=1, max_size=2))
        parts.append("BYSETPOS=" + _listed(positions))
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    end = draw(st.sampled_from(["none", "count", "date", "moment"])) if ends else "none"
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif end == "date":
        until = draw(st.dates(date(1970, 1, 1), date(2150, 12, 31)))
        parts.append(f"UNTIL={until:%Y%m%d}")
    elif end == "moment":
        until_at = draw(st.datetimes(datetime(1970, 1, 1), datetime(2150, 12, 31)))
        parts.append(f"UNTIL={until_at.replace(tzinfo=UTC):%Y%m%dT%H%M%SZ}")
    text = ";".join(draw(st.permutations(parts)))
    return text.lower() if draw(st.booleans()) else text

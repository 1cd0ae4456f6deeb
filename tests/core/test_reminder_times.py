"""Relative reminder times: nominal days on the wall clock, exact hours, all-day dues with a
time of day, and durations that are refused."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.reminder_times import Before, ReminderTimeError, parse_before, reminder_at
from tests.core.recurrence_rules import profile, zones


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "before", "canonical"),
    [
        ("PT15M", Before(0, 900), "PT15M"),
        ("P1D", Before(1, 0), "P1D"),
        ("p2w", Before(14, 0), "P14D"),
        ("P1W2D", Before(9, 0), "P9D"),
        ("P1DT12H", Before(1, 43200), "P1DT12H"),
        (" pt90m ", Before(0, 5400), "PT1H30M"),
        ("PT0S", Before(0, 0), "PT0S"),
        ("PT24H", Before(0, 86400), "PT24H"),
        ("P366D", Before(366, 0), "P366D"),
    ],
)
def test_parse_before_reads_iso_8601_durations(text: str, before: Before, canonical: str) -> None:
    assert parse_before(text) == before
    assert str(before) == canonical
    assert parse_before(canonical) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "ISO 8601"),
        ("P", "ISO 8601"),
        ("PT", "ISO 8601"),
        ("P1DT", "ISO 8601"),
        ("15M", "ISO 8601"),
        ("-PT5M", "ISO 8601"),
        ("P1.5D", "ISO 8601"),
        ("PT1H2H", "ISO 8601"),
        ("P" + "9" * 50 + "D", "ISO 8601"),
        ("P1M", "months"),
        ("P1Y2D", "years"),
        ("P367D", "366 days"),
        ("PT8785H", "366 days"),
    ],
)
def test_parse_before_refuses(text: str, says: str) -> None:
    with pytest.raises(ReminderTimeError, match=says):
        parse_before(text)


def test_a_day_before_keeps_the_wall_time_across_dst() -> None:
    # 09:00 on 29 March 2026, the day Berlin moves to summer time.
    due = berlin(2026, 3, 29, 9)
    assert reminder_at(due, parse_before("P1D"), zone="Europe/Berlin") == berlin(2026, 3, 28, 9)
    # 24 hours are 24 hours: 08:00 winter time the day before.
    assert reminder_at(due, parse_before("PT24H"), zone="Europe/Berlin") == berlin(2026, 3, 28, 8)
    assert reminder_at(due, parse_before("PT15M"), zone="Europe/Berlin") == due - timedelta(
        minutes=15
    )


def test_all_day_dues_count_from_the_time_of_day_in_the_zone() -> None:
    before = parse_before("P1D")
    assert reminder_at(date(2026, 3, 10), before, zone="Europe/Berlin", at_time=time(18)) == berlin(
        2026, 3, 9, 18
    )
    assert reminder_at(date(2026, 3, 10), before, zone="UTC", at_time=time(18)) == datetime(
        2026, 3, 9, 18, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="at_time"):
        reminder_at(date(2026, 3, 10), before, zone="UTC")


def test_a_reminder_in_a_dst_gap_or_fold_resolves_like_an_occurrence() -> None:
    # 02:30 on 29 March 2026 does not exist in Berlin: read at +01:00, 03:30 summer time.
    gap = reminder_at(
        date(2026, 3, 30), parse_before("P1D"), zone="Europe/Berlin", at_time=time(2, 30)
    )
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 on 25 October 2026 happens twice: the first, summer time.
    fold = reminder_at(
        date(2026, 10, 26), parse_before("P1D"), zone="Europe/Berlin", at_time=time(2, 30)
    )
    assert fold == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_naive_dues_are_refused_and_the_calendar_start_is_none() -> None:
    with pytest.raises(ValueError, match="aware"):
        reminder_at(datetime(2026, 1, 1, 9), Before(0, 60), zone="UTC")
    assert reminder_at(date(1, 1, 1), Before(1, 0), zone="UTC", at_time=time(9)) is None


@profile(100)
@given(
    st.datetimes(datetime(1970, 1, 1), datetime(2100, 12, 31)),
    zones,
    st.integers(0, 366),
    st.integers(0, 86399),
)
def test_reminders_come_no_later_than_the_due_and_keep_the_wall_time(
    moment: datetime, zone: str, days: int, seconds: int
) -> None:
    due = moment.replace(tzinfo=UTC)
    zone_info = ZoneInfo(zone)
    at = reminder_at(due, Before(days, seconds), zone=zone)
    assert at is not None
    assert at <= due
    wall = due.astimezone(zone_info)
    nominal = reminder_at(due, Before(days, 0), zone=zone)
    assert nominal is not None
    assert at == nominal - timedelta(seconds=seconds)
    seen = nominal.astimezone(zone_info)
    target = wall.replace(tzinfo=None) - timedelta(days=days)
    # The same wall time, or later by a DST gap that swallowed it.
    assert seen.replace(tzinfo=None) >= target
    if seen.replace(tzinfo=None) != target:
        assert (
            target.replace(tzinfo=zone_info)
            .astimezone(UTC)
            .astimezone(zone_info)
            .replace(tzinfo=None)
            != target
        )

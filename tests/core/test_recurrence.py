"""Occurrences: the classic calendar traps one by one, then properties over random rules,
dates and every time zone the system knows."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.core.recurrence import (
    MAX_UPCOMING,
    Basis,
    Due,
    Frequency,
    RecurrenceError,
    Rule,
    local_time_of_day,
    next_occurrence,
    parse_rule,
    upcoming,
)
from tests.core.recurrence_rules import profile, rule_texts, zones


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def preview(text: str, due: Due, zone: str = "UTC", limit: int = 10, **kwargs: object) -> list[Due]:
    return upcoming(parse_rule(text), due=due, zone=zone, limit=limit, **kwargs)  # type: ignore[arg-type]


# The classic traps, all-day.


def test_monthly_on_the_31st_skips_months_without_one() -> None:
    expected = [date(2026, m, 31) for m in (1, 3, 5, 7, 8, 10, 12)]
    assert preview("FREQ=MONTHLY;BYMONTHDAY=31", date(2026, 1, 31), limit=7) == expected
    # A bare FREQ=MONTHLY takes the day from the due: the same series.
    assert preview("FREQ=MONTHLY", date(2026, 1, 31), limit=7) == expected


def test_last_day_of_the_month_is_bymonthday_minus_one() -> None:
    assert preview("FREQ=MONTHLY;BYMONTHDAY=-1", date(2027, 12, 31), limit=4) == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]


def test_29_february_comes_in_leap_years_only() -> None:
    assert preview("FREQ=YEARLY", date(2024, 2, 29), limit=3) == [
        date(2024, 2, 29),
        date(2028, 2, 29),
        date(2032, 2, 29),
    ]
    # 2100 is not a leap year: eight years to the next 29 February.
    assert preview("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", date(2096, 2, 29), limit=2) == [
        date(2096, 2, 29),
        date(2104, 2, 29),
    ]


def test_last_friday_of_the_month() -> None:
    assert preview("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), limit=5) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
        date(2026, 5, 29),
    ]


def test_second_monday_of_the_month() -> None:
    assert preview("FREQ=MONTHLY;BYDAY=2MO", date(2026, 1, 12), limit=4) == [
        date(2026, 1, 12),
        date(2026, 2, 9),
        date(2026, 3, 9),
        date(2026, 4, 13),
    ]


def test_last_weekday_of_the_month_with_bysetpos() -> None:
    rule = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    # 31 January 2026 is a Saturday and 31 May a Sunday: the Fridays before them.
    assert preview(rule, date(2026, 1, 30), limit=6) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 29),
        date(2026, 6, 30),
    ]


def test_a_due_off_the_pattern_counts_then_the_pattern_follows() -> None:
    # Tuesday 3 March 2026 with "last Friday": the due first (RFC 5545's DTSTART), then the rule.
    assert preview("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 3, 3), limit=3) == [
        date(2026, 3, 3),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]


def test_interval_counts_periods_from_the_due() -> None:
    assert preview("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", date(2026, 1, 5), limit=5) == [
        date(2026, 1, 5),
        date(2026, 1, 9),
        date(2026, 1, 19),
        date(2026, 1, 23),
        date(2026, 2, 2),
    ]


# The classic traps, timed: DST gaps and folds.


def test_daily_wall_time_is_kept_across_dst_changes() -> None:
    due = local("Europe/Berlin", 2026, 3, 27, 9)
    assert preview("FREQ=DAILY", due, "Europe/Berlin", limit=4) == [
        utc(2026, 3, 27, 8),
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),
        utc(2026, 3, 30, 7),
    ]
    autumn = preview(
        "FREQ=DAILY", local("Europe/Berlin", 2026, 10, 24, 9), "Europe/Berlin", limit=2
    )
    assert autumn == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)]


@pytest.mark.parametrize(
    ("zone", "day_before", "gap_day", "day_after"),
    [
        # 02:00 -> 03:00 on 29 March 2026: 02:30 is read at +01:00, i.e. 03:30 CEST.
        (
            "Europe/Berlin",
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1, 30),
            utc(2026, 3, 30, 0, 30),
        ),
        # 02:00 -> 03:00 on 8 March 2026: 02:30 is read at -05:00, i.e. 03:30 EDT.
        (
            "America/New_York",
            utc(2026, 3, 7, 7, 30),
            utc(2026, 3, 8, 7, 30),
            utc(2026, 3, 9, 6, 30),
        ),
    ],
)
def test_dst_gap_moves_the_occurrence_forward_by_the_gap_then_back(
    zone: str, day_before: datetime, gap_day: datetime, day_after: datetime
) -> None:
    assert preview("FREQ=DAILY", day_before, zone, limit=3) == [day_before, gap_day, day_after]
    assert gap_day.astimezone(ZoneInfo(zone)).time() == time(3, 30)
    assert day_after.astimezone(ZoneInfo(zone)).time() == time(2, 30)
    # Completing the moved occurrence: the series' time of day brings it back to 02:30.
    rule = parse_rule("FREQ=DAILY")
    following = next_occurrence(rule, due=gap_day, zone=zone, time_of_day=time(2, 30))
    assert following == day_after
    # Without it, 03:30 is all the due says, and the series stays there.
    assert next_occurrence(rule, due=gap_day, zone=zone) == day_after + timedelta(hours=1)


@pytest.mark.parametrize(
    ("zone", "wall", "first", "next_day"),
    [
        # 03:00 CEST -> 02:00 CET on 25 October 2026: 02:30 happens twice; the first is CEST.
        ("Europe/Berlin", time(2, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        # 02:00 EDT -> 01:00 EST on 1 November 2026: the first 01:30 is EDT.
        ("America/New_York", time(1, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
    ],
)
def test_dst_fold_takes_the_first_of_the_two_times(
    zone: str, wall: time, first: datetime, next_day: datetime
) -> None:
    before = first - timedelta(days=1)  # summer time still
    assert before.astimezone(ZoneInfo(zone)).time() == wall
    assert preview("FREQ=DAILY", before, zone, limit=3) == [before, first, next_day]
    assert first.astimezone(ZoneInfo(zone)).fold == 0
    assert next_occurrence(parse_rule("FREQ=DAILY"), due=first, zone=zone) == next_day


def test_a_day_the_zone_skipped_is_one_occurrence_and_interval_keeps_its_rhythm() -> None:
    # Samoa skipped 30 December 2011 (UTC-10 -> UTC+14). 09:00 that day is read at -10.
    zone = "Pacific/Apia"
    due = local(zone, 2011, 12, 28, 9)
    daily = preview("FREQ=DAILY", due, zone, limit=4)
    assert daily == [
        due,
        local(zone, 2011, 12, 29, 9),
        utc(2011, 12, 30, 19),
        utc(2011, 12, 31, 19),
    ]
    assert utc(2011, 12, 30, 19) == local(zone, 2011, 12, 31, 9)
    every_other = preview("FREQ=DAILY;INTERVAL=2", due, zone, limit=3)
    assert every_other == [due, utc(2011, 12, 30, 19), local(zone, 2012, 1, 1, 9)]
    rule = parse_rule("FREQ=DAILY;INTERVAL=2")
    assert next_occurrence(rule, due=every_other[1], zone=zone) == every_other[2]


def test_times_keep_their_seconds_and_microseconds() -> None:
    due = utc(2026, 1, 1, 9, 15, 30, 250)
    assert preview("FREQ=DAILY", due, limit=2)[1] == utc(2026, 1, 2, 9, 15, 30, 250)


# UNTIL and COUNT.


def test_until_as_a_date_includes_that_day() -> None:
    assert preview("FREQ=DAILY;UNTIL=20260103", date(2026, 1, 1)) == [
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 1, 3),
    ]
    # For a timed due, the local date: 23:30 in Berlin on 3 January is 22:30 UTC.
    timed = preview(
        "FREQ=DAILY;UNTIL=20260103", local("Europe/Berlin", 2026, 1, 1, 23, 30), "Europe/Berlin"
    )
    assert timed[-1] == local("Europe/Berlin", 2026, 1, 3, 23, 30)
    assert len(timed) == 3


def test_until_as_a_utc_moment_is_inclusive() -> None:
    due = local("Europe/Berlin", 2026, 1, 1, 9)
    assert preview("FREQ=DAILY;UNTIL=20260103T080000Z", due, "Europe/Berlin")[-1] == utc(
        2026, 1, 3, 8
    )
    assert preview("FREQ=DAILY;UNTIL=20260103T075959Z", due, "Europe/Berlin")[-1] == utc(
        2026, 1, 2, 8
    )


def test_until_as_a_utc_moment_bounds_all_day_dues_by_its_local_date() -> None:
    rule = "FREQ=DAILY;UNTIL=20260103T230000Z"
    assert preview(rule, date(2026, 1, 1), "UTC")[-1] == date(2026, 1, 3)
    # In Berlin that moment is already 4 January.
    assert preview(rule, date(2026, 1, 1), "Europe/Berlin")[-1] == date(2026, 1, 4)


def test_next_occurrence_past_until_is_none() -> None:
    rule = parse_rule("FREQ=WEEKLY;UNTIL=20260110")
    assert next_occurrence(rule, due=date(2026, 1, 1), zone="UTC") == date(2026, 1, 8)
    assert next_occurrence(rule, due=date(2026, 1, 8), zone="UTC") is None


def test_count_one_is_the_due_alone() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=1")
    assert upcoming(rule, due=date(2026, 1, 1), zone="UTC") == [date(2026, 1, 1)]
    assert next_occurrence(rule, due=date(2026, 1, 1), zone="UTC") is None


def test_count_includes_the_occurrences_already_done() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=3")
    assert upcoming(rule, due=date(2026, 1, 1), zone="UTC") == [
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 1, 3),
    ]
    assert upcoming(rule, due=date(2026, 1, 2), zone="UTC", count_done=1) == [
        date(2026, 1, 2),
        date(2026, 1, 3),
    ]
    assert next_occurrence(rule, due=date(2026, 1, 2), zone="UTC", count_done=1) == date(2026, 1, 3)
    assert next_occurrence(rule, due=date(2026, 1, 3), zone="UTC", count_done=2) is None


# Basis: due ("every") and completion ("every!").


def test_basis_due_advances_one_occurrence_even_when_overdue() -> None:
    rule = parse_rule("FREQ=DAILY")
    assert next_occurrence(rule, due=date(2020, 1, 1), zone="UTC") == date(2020, 1, 2)


def test_three_days_after_i_last_did_it() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3")
    done = utc(2026, 1, 10, 23, 30)  # 11 January 00:30 in Berlin
    kwargs = {"due": date(2026, 1, 1), "basis": Basis.completion, "completed_at": done}
    assert next_occurrence(rule, zone="UTC", **kwargs) == date(2026, 1, 13)  # type: ignore[arg-type]
    assert next_occurrence(rule, zone="Europe/Berlin", **kwargs) == date(2026, 1, 14)  # type: ignore[arg-type]


def test_completion_basis_keeps_the_time_of_day_of_the_due() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3")
    due = local("Europe/Berlin", 2026, 1, 1, 9)
    # Done early in the morning of 5 January, before 09:00: still three days after that day.
    for done in (local("Europe/Berlin", 2026, 1, 5, 7), local("Europe/Berlin", 2026, 1, 5, 18)):
        following = next_occurrence(
            rule, due=due, zone="Europe/Berlin", basis=Basis.completion, completed_at=done
        )
        assert following == local("Europe/Berlin", 2026, 1, 8, 9)


def test_completion_basis_restarts_the_pattern_from_the_completion_day() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO")
    following = next_occurrence(
        rule,
        due=date(2026, 1, 5),
        zone="UTC",
        basis=Basis.completion,
        completed_at=utc(2026, 1, 12, 8),
    )
    # Done on Monday 12 January: the next Monday after that day.
    assert following == date(2026, 1, 19)


def test_every_month_after_completion_on_the_31st_ends_february() -> None:
    monthly = parse_rule("FREQ=MONTHLY")
    done = utc(2026, 1, 31, 12)
    kwargs = {"zone": "UTC", "basis": Basis.completion, "completed_at": done}
    assert next_occurrence(monthly, due=date(2026, 1, 15), **kwargs) == date(2026, 2, 28)  # type: ignore[arg-type]
    yearly = parse_rule("FREQ=YEARLY")
    leap = {"zone": "UTC", "basis": Basis.completion, "completed_at": utc(2024, 2, 29, 12)}
    assert next_occurrence(yearly, due=date(2024, 2, 1), **leap) == date(2025, 2, 28)  # type: ignore[arg-type]
    # With a BYMONTHDAY the rule says which day; RFC 5545 skips the months without it.
    explicit = parse_rule("FREQ=MONTHLY;BYMONTHDAY=31")
    assert next_occurrence(explicit, due=date(2026, 1, 15), **kwargs) == date(2026, 3, 31)  # type: ignore[arg-type]


def test_completing_the_same_occurrence_twice_gives_the_same_answer() -> None:
    rule = parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=5")
    due = local("America/New_York", 2026, 1, 30, 17)
    answers = {
        next_occurrence(rule, due=due, zone="America/New_York", count_done=2, time_of_day=time(17))
        for _ in range(3)
    }
    assert answers == {local("America/New_York", 2026, 2, 27, 17)}


# Arguments the API gets wrong are programming errors, not rule errors.


def test_bad_arguments_are_value_errors() -> None:
    rule = parse_rule("FREQ=DAILY")
    naive = datetime(2026, 1, 1, 9)
    with pytest.raises(ValueError, match="aware"):
        next_occurrence(rule, due=naive, zone="UTC")
    with pytest.raises(ValueError, match="completed_at"):
        next_occurrence(rule, due=date(2026, 1, 1), zone="UTC", basis=Basis.completion)
    with pytest.raises(ValueError, match="count_done"):
        next_occurrence(rule, due=date(2026, 1, 1), zone="UTC", count_done=-1)
    for limit in (0, MAX_UPCOMING + 1):
        with pytest.raises(ValueError, match="limit"):
            upcoming(rule, due=date(2026, 1, 1), zone="UTC", limit=limit)
    assert not issubclass(RecurrenceError, TypeError)


def test_the_end_of_the_calendar_ends_the_series() -> None:
    rule = parse_rule("FREQ=YEARLY")
    assert upcoming(rule, due=date(9998, 6, 1), zone="UTC") == [date(9998, 6, 1), date(9999, 6, 1)]
    assert next_occurrence(rule, due=date(9999, 6, 1), zone="UTC") is None
    late = utc(9999, 12, 31, 20)
    assert upcoming(rule, due=late, zone="Asia/Tokyo") == [late]
    assert next_occurrence(parse_rule("FREQ=DAILY"), due=late, zone="America/New_York") is None


def test_a_rule_that_never_matches_again_from_this_due_is_over() -> None:
    # Every fourth year from 2025 never meets a leap year; the search is bounded (400 years).
    rule = parse_rule("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29")
    assert next_occurrence(rule, due=date(2025, 2, 1), zone="UTC") is None
    assert upcoming(rule, due=date(2025, 2, 1), zone="UTC") == [date(2025, 2, 1)]
    weekly = parse_rule("FREQ=DAILY;INTERVAL=7;BYDAY=MO")
    assert next_occurrence(weekly, due=date(2026, 1, 6), zone="UTC") is None  # a Tuesday


def test_parsed_rules_are_values() -> None:
    assert parse_rule("freq=daily") == Rule(freq=Frequency.DAILY)
    assert parse_rule("FREQ=DAILY") is parse_rule("FREQ=DAILY")


# Properties.

timed_dues = st.datetimes(datetime(1970, 1, 1), datetime(2100, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
all_day_dues = st.dates(date(1970, 1, 1), date(2100, 12, 31))
# What no pattern can reach from its due: the search stops 400 years (146097 days) out.
HORIZON = timedelta(days=146097)


def parsed(text: str) -> Rule:
    try:
        return parse_rule(text)
    except RecurrenceError:
        assume(False)
        raise


def wall_time_exists(day: date, wall: time, zone: ZoneInfo) -> bool:
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@profile(80)
@given(
    rule_texts(), st.one_of(timed_dues, all_day_dues), zones, st.integers(0, 3), st.integers(1, 40)
)
def test_upcoming_increases_and_respects_count_and_until(
    text: str, due: Due, zone: str, count_done: int, limit: int
) -> None:
    rule = parsed(text)
    found = upcoming(rule, due=due, zone=zone, limit=limit, count_done=count_done)
    assert found[0] == due
    assert 1 <= len(found) <= limit
    if rule.count is not None:
        assert len(found) <= max(1, rule.count - count_done)
    assert all(a < b for a, b in pairwise(found))  # type: ignore[operator]
    for occurrence in found[1:]:
        if isinstance(due, datetime):
            assert isinstance(occurrence, datetime)
            assert occurrence.tzinfo is UTC
        else:
            assert type(occurrence) is date
        if isinstance(rule.until, datetime) and isinstance(occurrence, datetime):
            assert occurrence <= rule.until
        elif isinstance(rule.until, datetime):
            assert occurrence <= rule.until.astimezone(ZoneInfo(zone)).date()
        elif rule.until is not None:
            day = (
                occurrence.astimezone(ZoneInfo(zone)).date()
                if isinstance(occurrence, datetime)
                else occurrence
            )
            # A DST gap can push a timed occurrence past midnight; a day at most.
            assert day <= rule.until + timedelta(days=1 if isinstance(occurrence, datetime) else 0)


@profile(80)
@given(rule_texts(), timed_dues, zones)
def test_wall_time_is_stable_in_every_zone(text: str, due: datetime, zone: str) -> None:
    rule = parsed(text)
    zone_info = ZoneInfo(zone)
    wall = local_time_of_day(due, zone)
    for occurrence in upcoming(rule, due=due, zone=zone, limit=30, time_of_day=wall)[1:]:
        assert isinstance(occurrence, datetime)
        seen = occurrence.astimezone(zone_info)
        # The series' wall time, the first of two when the clock repeats it ...
        if seen.time() == wall:
            assert seen.fold == 0
            continue
        # ... or, where that wall time does not exist that day, later by the gap.
        nominal = next(
            day
            for day in (seen.date(), seen.date() - timedelta(days=1))
            if datetime.combine(day, wall, zone_info).astimezone(UTC) == occurrence
        )
        assert not wall_time_exists(nominal, wall, zone_info)
        assert seen.replace(tzinfo=None) > datetime.combine(nominal, wall)


@profile(40)
@given(
    rule_texts(ends=False),
    zones,
    st.datetimes(datetime(2000, 1, 1), datetime(2040, 12, 31)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago"]),
)
def test_daily_series_keep_wall_time_through_many_dst_changes(
    text: str, zone: str, start: datetime, dst_zone: str
) -> None:
    # Zones that change twice a year, and a random one; a year of daily occurrences each.
    for name in (zone, dst_zone):
        due = start.replace(tzinfo=ZoneInfo(name)).astimezone(UTC)
        wall = local_time_of_day(due, name)
        for occurrence in upcoming(
            parse_rule("FREQ=DAILY"), due=due, zone=name, limit=100, time_of_day=wall
        ):
            assert isinstance(occurrence, datetime)
            seen = occurrence.astimezone(ZoneInfo(name))
            assert seen.time() == wall or not wall_time_exists(seen.date(), wall, ZoneInfo(name))


@profile(80)
@given(rule_texts(), st.one_of(timed_dues, all_day_dues), zones, st.integers(0, 3))
def test_next_occurrence_walks_the_preview(text: str, due: Due, zone: str, count_done: int) -> None:
    rule = parsed(text)
    wall = local_time_of_day(due, zone) if isinstance(due, datetime) else None
    limit = 12
    found = upcoming(rule, due=due, zone=zone, limit=limit, count_done=count_done, time_of_day=wall)
    for index, (current, following) in enumerate(pairwise(found)):
        step = next_occurrence(
            rule, due=current, zone=zone, count_done=count_done + index, time_of_day=wall
        )
        assert step == following
    if len(found) < limit:
        last = found[-1]
        step = next_occurrence(
            rule, due=last, zone=zone, count_done=count_done + len(found) - 1, time_of_day=wall
        )
        # The series is over, or its next occurrence lies beyond the preview's horizon.
        if step is not None:
            start = due if isinstance(due, date) and not isinstance(due, datetime) else due.date()
            reached = step if type(step) is date else step.date()  # type: ignore[union-attr]
            assert reached >= start + HORIZON - timedelta(days=1)


@profile(60)
@given(rule_texts(), all_day_dues, zones)
def test_completing_on_the_due_day_follows_the_due_series(text: str, due: date, zone: str) -> None:
    rule = parsed(text)
    # "every! month" on a date some months lack lands on the month's end instead (tested above).
    assume(
        not (rule.is_bare and rule.freq in (Frequency.MONTHLY, Frequency.YEARLY) and due.day > 28)
    )
    done = datetime.combine(due, time(12), ZoneInfo(zone))
    assert next_occurrence(
        rule, due=due, zone=zone, basis=Basis.completion, completed_at=done
    ) == next_occurrence(rule, due=due, zone=zone)

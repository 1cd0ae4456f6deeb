"""The calendar arithmetic, done by python-dateutil's rrule on naive local wall times.

Time zones stay out of this module: dateutil yields the dates (and the fixed time of day) a
rule produces, and `occurrences` turns them into instants in the user's zone.

dateutil checks its UNTIL only against the dates it produces, so a rule that matches nothing
for a long stretch (FREQ=DAILY;INTERVAL=7;BYDAY=MO started on a Tuesday) would make it walk
period by period up to the year 9999. The walk is bounded instead by moving the work near the
end of the calendar: the Gregorian calendar repeats exactly every 400 years (146097 days, a
whole number of weeks), so shifting the start by whole cycles changes no weekday and no leap
day, and dateutil stops by itself at the year 9999, at most 800 years of periods later.
"""

from collections.abc import Iterator
from datetime import MAXYEAR, datetime, timedelta
from typing import Literal

from dateutil import rrule as dateutil_rrule

from app.core.recurrence.rule import Frequency, Rule

CYCLE_YEARS = 400
CYCLE = timedelta(days=146097)
# Occurrences are looked for this far after the start and no further.
HORIZON = CYCLE
_FREQUENCIES: dict[Frequency, Literal[0, 1, 2, 3]] = {
    Frequency.DAILY: dateutil_rrule.DAILY,
    Frequency.WEEKLY: dateutil_rrule.WEEKLY,
    Frequency.MONTHLY: dateutil_rrule.MONTHLY,
    Frequency.YEARLY: dateutil_rrule.YEARLY,
}
# 1 January 9600 falls on the same weekday as 1 January 2000, and the 400 years that follow
# are the last whole cycle before the end of the calendar.
_PROBE_START = datetime(MAXYEAR + 1 - CYCLE_YEARS, 1, 1)


def local_dates(rule: Rule, start: datetime) -> Iterator[datetime]:
    """The naive datetimes the rule yields from `start` (included when it matches the rule),
    at `start`'s time of day, up to `HORIZON` after `start`. COUNT and UNTIL are not applied
    here: the caller knows the time zone and how many occurrences are already done."""
    cycles = max(0, (MAXYEAR - CYCLE_YEARS - start.year) // CYCLE_YEARS)
    shift = CYCLE * cycles
    shifted = start + shift
    end = shifted + HORIZON if shifted.year <= MAXYEAR - CYCLE_YEARS else None
    # Shifted, the start is in a year after 9199: a few days back cannot leave the calendar.
    begin, by_day = shifted, None
    if rule.freq is Frequency.WEEKLY and rule.by_set_pos:
        # dateutil's first weekly period runs from the start, not from WKST, so BYSETPOS would
        # count within a cut week; start it on the week's first day (the default BYDAY stays
        # the start's weekday) and drop what comes before the real start.
        begin -= timedelta(days=(shifted.weekday() - rule.week_start) % 7)
        by_day = [dateutil_rrule.weekday(shifted.weekday())]
    for found in _rrule(rule, begin, until=end, by_day=by_day):
        if found >= shifted:
            yield (found - shift).replace(microsecond=start.microsecond)


def matches_some_date(rule: Rule) -> bool:
    """Whether the pattern (at INTERVAL=1, which visits every period) matches any date. One
    whole 400-year cycle holds every combination of weekday, month, day and leap year."""
    plain = _rrule(rule, _PROBE_START, until=None, interval=1)
    return next(iter(plain), None) is not None


def _rrule(
    rule: Rule,
    start: datetime,
    *,
    until: datetime | None,
    interval: int | None = None,
    by_day: list[dateutil_rrule.weekday] | None = None,
) -> dateutil_rrule.rrule:
    return dateutil_rrule.rrule(
        _FREQUENCIES[rule.freq],
        dtstart=start,
        interval=interval or rule.interval,
        # Always explicit: dateutil's default follows calendar.firstweekday(), a global.
        wkst=rule.week_start,
        until=until,
        bysetpos=rule.by_set_pos or None,
        bymonth=rule.by_month or None,
        bymonthday=rule.by_month_day or None,
        byweekday=[dateutil_rrule.weekday(day.weekday, day.ordinal) for day in rule.by_day]
        or by_day,
    )

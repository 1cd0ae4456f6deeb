"""Occurrences in the user's time zone: the next due of a series, and a preview of the next ones.

Timed dues are aware UTC datetimes whose wall time in the zone is the series' time of day;
all-day dues are dates and stay dates. Every function here is pure: the same arguments give the
same answer, whatever the clock says.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from app.core.recurrence.pattern import local_dates
from app.core.recurrence.rule import Frequency, Rule

Due = date | datetime
MAX_UPCOMING = 100


class Basis(StrEnum):
    """What the next due follows: the previous due (Todoist's "every") or the moment the task
    was completed ("every!")."""

    due = "due"
    completion = "completion"


def local_time_of_day(due: datetime, zone: str) -> time:
    """The wall-clock time of a timed due in the zone: the series' time of day, to store when
    the user sets the due and to pass back as `time_of_day`."""
    return _aware(due, "due").astimezone(ZoneInfo(zone)).time().replace(fold=0)


def next_occurrence(
    rule: Rule,
    *,
    due: Due,
    zone: str,
    basis: Basis = Basis.due,
    count_done: int = 0,
    completed_at: datetime | None = None,
    time_of_day: time | None = None,
) -> Due | None:
    """The due that follows `due`, or None when the series is over.

    basis `due`: the first occurrence of the pattern strictly after `due`. basis `completion`:
    the pattern restarts on the local date of `completed_at` (required) and the first
    occurrence on a later date is next. `count_done` is how many occurrences came before
    `due` (completed or skipped); with COUNT=n the series ends once n are done. `time_of_day`
    is the series' wall time for timed dues (see `local_time_of_day`); without it the due's own
    wall time is used, which a DST gap may have moved.
    """
    if count_done < 0:
        raise ValueError("count_done must not be negative")
    if rule.count is not None and count_done + 1 >= rule.count:
        return None
    zone_info = ZoneInfo(zone)
    after_day: date | None = None
    if basis is Basis.completion:
        if completed_at is None:
            raise ValueError("basis completion needs completed_at")
        completed_local = _to_local(_aware(completed_at, "completed_at"), zone_info)
        if completed_local is None:
            return None
        after_day = completed_local.date()
    if isinstance(due, datetime):
        start = _timed_start(_aware(due, "due"), zone_info, time_of_day)
        if start is None:
            return None
        day, wall_time = start
        for local in _following(rule, datetime.combine(after_day or day, wall_time), after_day):
            instant = _resolve(local, zone_info)
            if instant is None:
                return None
            if after_day is None and instant <= due:
                continue
            return instant if _before_until(rule, local.date(), instant, zone_info) else None
        return None
    day = after_day or due
    for local in _following(rule, datetime.combine(day, time()), after_day):
        if local.date() > day:
            return local.date() if _before_until(rule, local.date(), None, zone_info) else None
    return None


def upcoming(
    rule: Rule,
    *,
    due: Due,
    zone: str,
    limit: int = 10,
    count_done: int = 0,
    time_of_day: time | None = None,
) -> list[Due]:
    """The current due followed by the next occurrences, at most `limit` (1 to 100) in all,
    as `next_occurrence` with basis `due` would give them one by one. For basis `completion`
    this is the series if every occurrence is done on its day."""
    if not 1 <= limit <= MAX_UPCOMING:
        raise ValueError(f"limit must be 1 to {MAX_UPCOMING}")
    if count_done < 0:
        raise ValueError("count_done must not be negative")
    found: list[Due] = [due]
    wanted = limit if rule.count is None else min(limit, rule.count - count_done)
    if len(found) >= wanted:
        return found
    zone_info = ZoneInfo(zone)
    if isinstance(due, datetime):
        start = _timed_start(_aware(due, "due"), zone_info, time_of_day)
        if start is None:
            return found
        last = due
        for local in local_dates(rule, datetime.combine(*start)):
            instant = _resolve(local, zone_info)
            if instant is None or not _before_until(rule, local.date(), instant, zone_info):
                break
            # A day a zone skipped whole (Pacific/Apia, 30 December 2011) gives its
            # neighbour's instant; it is one occurrence, not two.
            if instant > last:
                found.append(instant)
                last = instant
                if len(found) >= wanted:
                    break
        return found
    for local in local_dates(rule, datetime.combine(due, time())):
        if local.date() > due:
            if not _before_until(rule, local.date(), None, zone_info):
                break
            found.append(local.date())
            if len(found) >= wanted:
                break
    return found


def _following(rule: Rule, start: datetime, after_day: date | None) -> Iterator[datetime]:
    """Candidates for the next occurrence, in order, from a start of the pattern. A restart
    on completion skips the completion day itself."""
    if after_day is not None and rule.is_bare and rule.freq in _CLAMPED:
        # "every! month" means a month after completion: the 31 January gives the end of
        # February (relativedelta clamps to the month's last day), not the 31 March.
        yield start + _CLAMPED[rule.freq](rule.interval)
        return
    for local in local_dates(rule, start):
        if after_day is None or local.date() > after_day:
            yield local


_CLAMPED = {
    Frequency.MONTHLY: lambda interval: relativedelta(months=interval),
    Frequency.YEARLY: lambda interval: relativedelta(years=interval),
}


def _timed_start(due: datetime, zone: tzinfo, time_of_day: time | None) -> tuple[date, time] | None:
    """The local date and wall time the series is at when its current due is `due`.

    Usually the due's own local date; the day before when the series' time fell into a DST
    gap that pushed the due past midnight, so INTERVAL keeps counting from the right day.
    """
    local = _to_local(due, zone)
    if local is None:
        return None
    wall_time = (time_of_day or local.time()).replace(tzinfo=None, fold=0)
    for back in (1, 0):
        try:
            day = local.date() - timedelta(days=back)
        except OverflowError:
            continue
        if _resolve(datetime.combine(day, wall_time), zone) == due:
            return day, wall_time
    return local.date(), wall_time


def _resolve(local: datetime, zone: tzinfo) -> datetime | None:
    """The instant of a wall time, per RFC 5545 section 3.3.5: a time that occurs twice (a
    fold) is the first one; a time that does not exist (a gap) is read with the UTC offset
    from before the gap, so 02:30 on a spring-forward day is 03:30 of the new offset. This is
    PEP 495's fold=0. None beyond the end of the calendar."""
    try:
        return local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    except OverflowError:
        return None


def _to_local(moment: datetime, zone: tzinfo) -> datetime | None:
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return None


def _before_until(rule: Rule, day: date, instant: datetime | None, zone: tzinfo) -> bool:
    """UNTIL is inclusive. A UTC UNTIL bounds a timed occurrence's instant and an all-day
    occurrence's date by the local date it falls on; a date UNTIL bounds the local date."""
    until = rule.until
    if until is None:
        return True
    if isinstance(until, datetime):
        if instant is not None:
            return instant <= until
        local = _to_local(until, zone)
        return local is None or day <= local.date()
    return day <= until


def _aware(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment

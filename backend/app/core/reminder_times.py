"""When a relative reminder fires: `due - before`, in the user's time zone. Pure, like the
recurrence engine it sits beside (issue 19); the API stores `before` as its ISO 8601 text.

`before` is an ISO 8601 duration such as `PT15M`, `P1D` or `P1DT2H`. As in RFC 5545's DURATION
(section 3.3.6), weeks and days are nominal and hours, minutes and seconds exact: `P1D` before
09:00 is 09:00 the day before, 23 or 25 hours earlier across a DST change, while `PT24H` is
exactly 24 hours. That difference is why the text is parsed here: a `timedelta` (what pydantic
or isodate return) cannot tell `P1D` from `PT24H`. Years and months are refused; their length
varies too much to be what a reminder means.

An all-day due has no time, so its reminders need the time of day they are counted from (the
task's reminder `time`, in the user's zone): `P1D` with 18:00 on a due of 10 March fires at
18:00 on 9 March.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_BEFORE = timedelta(days=366)
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,3})W)?(?:(?P<days>[0-9]{1,3})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,4})H)?(?:(?P<minutes>[0-9]{1,6})M)?(?:(?P<seconds>[0-9]{1,8})S)?)?"
)
_HELP = "must be an ISO 8601 duration such as PT15M or P1D"


class ReminderTimeError(ValueError):
    """A `before` duration that is not accepted; the message says why."""


@dataclass(frozen=True, slots=True)
class Before:
    """A parsed `before`: nominal `days` (weeks included) and exact `seconds`."""

    days: int
    seconds: int

    def __str__(self) -> str:
        text = "P" + (f"{self.days}D" if self.days else "")
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        time_part = "".join(
            f"{value}{unit}"
            for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
            if value
        )
        if time_part or not self.days:
            text += "T" + (time_part or "0S")
        return text


def parse_before(text: str) -> Before:
    """The duration of an ISO 8601 text like `PT15M`, `P1D`, `P2W` or `P1DT12H` (letter case
    does not matter), at most 366 days. Raises `ReminderTimeError`."""
    if not isinstance(text, str) or len(text) > 40:
        raise ReminderTimeError(_HELP)
    upper = text.strip().upper()
    match = _DURATION.fullmatch(upper)
    if not match or upper == "P" or upper.endswith("T"):
        date_part = upper.partition("T")[0]
        if upper.startswith("P") and ("Y" in date_part or "M" in date_part):
            raise ReminderTimeError("years and months are not supported; use weeks or days")
        raise ReminderTimeError(_HELP)
    numbers = {name: int(value) for name, value in match.groupdict(default="0").items()}
    before = Before(
        days=numbers["weeks"] * 7 + numbers["days"],
        seconds=numbers["hours"] * 3600 + numbers["minutes"] * 60 + numbers["seconds"],
    )
    if timedelta(days=before.days, seconds=before.seconds) > MAX_BEFORE:
        raise ReminderTimeError(f"must be at most {MAX_BEFORE.days} days")
    return before


def reminder_at(
    due: date | datetime, before: Before, *, zone: str, at_time: time | None = None
) -> datetime | None:
    """The UTC moment a reminder `before` the due fires, or None before the calendar begins.

    The days are counted back on the wall clock in `zone` and the result resolved like an
    occurrence (a time in a DST gap is read with the offset before it, one in a fold is the
    first); then the exact hours, minutes and seconds are taken off. An all-day due needs
    `at_time`, the local time of day the reminder is counted from.
    """
    zone_info = ZoneInfo(zone)
    try:
        if isinstance(due, datetime):
            if due.utcoffset() is None:
                raise ValueError("due must be an aware datetime")
            wall = due.astimezone(zone_info).replace(tzinfo=None)
        else:
            if at_time is None:
                raise ValueError("an all-day due needs at_time")
            wall = datetime.combine(due, at_time.replace(tzinfo=None))
        day_before = (wall - timedelta(days=before.days)).replace(tzinfo=zone_info, fold=0)
        return day_before.astimezone(UTC) - timedelta(seconds=before.seconds)
    except OverflowError:
        return None

"""RRULE text to a validated `Rule`, refusing what the engine does not support by name.

The grammar is RFC 5545 section 3.3.10 restricted to what a task needs: FREQ from DAILY to
YEARLY, INTERVAL, COUNT or UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS and WKST. The work done
is bounded by the input length (`MAX_RULE_LENGTH`) and by one bounded probe of the calendar.
"""

import re
from datetime import UTC, date, datetime
from functools import lru_cache

from app.core.recurrence.pattern import matches_some_date
from app.core.recurrence.rule import WEEKDAYS, ByDay, Frequency, RecurrenceError, Rule

MAX_RULE_LENGTH = 500
MAX_INTERVAL = 999
MAX_COUNT = 100_000

_PREFIX = "RRULE:"
_NAME = re.compile(r"[A-Z][A-Z0-9-]{0,19}")
_NUMBER = re.compile(r"[+-]?[0-9]{1,3}")
_BY_DAY = re.compile(r"(?:([+-]?[0-9]{1,2}))?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z)?)?")
_UNSUPPORTED = {
    "BYSECOND": "times within a day are not supported: a task recurs at most daily",
    "BYMINUTE": "times within a day are not supported: a task recurs at most daily",
    "BYHOUR": "times within a day are not supported: a task recurs at most daily",
    "BYYEARDAY": "is not supported; use BYMONTH with BYMONTHDAY",
    "BYWEEKNO": "is not supported; use BYMONTH with BYDAY",
    "RSCALE": "only the Gregorian calendar is supported",
    "SKIP": "only the Gregorian calendar is supported",
}
# The most dates one period can hold, for the BYSETPOS check.
_PERIOD_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.MONTHLY: 31}
_PERIOD_NAMES = {
    Frequency.DAILY: "day",
    Frequency.WEEKLY: "week",
    Frequency.MONTHLY: "month",
    Frequency.YEARLY: "year",
}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_rule(text: str) -> Rule:
    """The validated rule of an RRULE value (`FREQ=MONTHLY;BYDAY=-1FR`, optionally prefixed
    with `RRULE:`, in any letter case). Raises `RecurrenceError` naming the part at fault."""
    if not isinstance(text, str):
        raise RecurrenceError(None, "must be a string")
    if len(text) > MAX_RULE_LENGTH:
        raise RecurrenceError(None, f"must be at most {MAX_RULE_LENGTH} characters")
    return _parse(text.strip())


# Stored rules are parsed again on every completion; the result is immutable, so cache it.
@lru_cache(maxsize=1024)
def _parse(text: str) -> Rule:
    if not text.isascii() or not text.isprintable() or " " in text:
        raise RecurrenceError(None, "must be RRULE parts without spaces, like FREQ=DAILY")
    text = text.upper()
    if text.startswith(_PREFIX):
        text = text[len(_PREFIX) :]
    if not text:
        raise RecurrenceError(None, "must not be empty; a rule needs at least FREQ")
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        name, equals, value = piece.partition("=")
        if not _NAME.fullmatch(name):
            raise RecurrenceError(None, "must be NAME=VALUE parts separated by ';'")
        if not equals or not value or "=" in value:
            raise RecurrenceError(name, "needs one value, as in NAME=VALUE")
        if name in parts:
            raise RecurrenceError(name, "must not be given twice")
        parts[name] = value
    rule = _build(parts)
    _check_satisfiable(rule)
    return rule


def _build(parts: dict[str, str]) -> Rule:
    for name in parts:
        if name in _UNSUPPORTED:
            raise RecurrenceError(name, _UNSUPPORTED[name])
        if name not in _HANDLERS and name != "FREQ":
            raise RecurrenceError(name, "is not an RRULE part this API supports")
    if "FREQ" not in parts:
        raise RecurrenceError("FREQ", "is required")
    freq = _frequency(parts["FREQ"])
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("COUNT", "cannot be combined with UNTIL (RFC 5545)")
    fields: dict[str, object] = {"freq": freq}
    for name, value in parts.items():
        if name != "FREQ":
            field, parsed = _HANDLERS[name](value, name, freq)
            fields[field] = parsed
    return Rule(**fields)  # type: ignore[arg-type]


def _frequency(value: str) -> Frequency:
    if value in ("SECONDLY", "MINUTELY", "HOURLY"):
        raise RecurrenceError("FREQ", "must be DAILY or longer: a task recurs at most daily")
    try:
        return Frequency(value)
    except ValueError:
        raise RecurrenceError("FREQ", "must be DAILY, WEEKLY, MONTHLY or YEARLY") from None


def _number(value: str, name: str, low: int, high: int, *, signed: bool = False) -> int:
    """An integer in low..high, or -high..-low as well when signed; never zero."""
    if not _NUMBER.fullmatch(value) or (not signed and value[0] in "+-"):
        raise RecurrenceError(name, f"{value[:20]!r} is not a number in range")
    number = int(value)
    if not low <= abs(number) <= high or (number < 0 and not signed):
        span = f"{low} to {high}" + (f", or -{high} to -{low}" if signed else "")
        raise RecurrenceError(name, f"must be {span}")
    return number


def _numbers(value: str, name: str, high: int, *, signed: bool) -> tuple[int, ...]:
    found = {_number(item, name, 1, high, signed=signed) for item in value.split(",")}
    # Positive values first, then negative ones, each ascending.
    return tuple(sorted(found, key=lambda number: (number < 0, number)))


def _interval(value: str, name: str, freq: Frequency) -> tuple[str, int]:
    if not value.isdigit() or len(value) > 7 or not 1 <= int(value) <= MAX_INTERVAL:
        raise RecurrenceError(name, f"must be 1 to {MAX_INTERVAL}")
    return "interval", int(value)


def _count(value: str, name: str, freq: Frequency) -> tuple[str, int]:
    if not value.isdigit() or len(value) > 7 or not 1 <= int(value) <= MAX_COUNT:
        raise RecurrenceError(name, f"must be 1 to {MAX_COUNT}")
    return "count", int(value)


def _until(value: str, name: str, freq: Frequency) -> tuple[str, date | datetime]:
    match = _UNTIL.fullmatch(value)
    if not match or (match[2] and not match[3]):
        raise RecurrenceError(
            name, "must be a date YYYYMMDD or a UTC moment YYYYMMDDTHHMMSSZ (RFC 5545)"
        )
    try:
        if match[2]:
            return "until", datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S").replace(
                tzinfo=UTC
            )
        return "until", datetime.strptime(match[1], "%Y%m%d").date()
    except ValueError:
        raise RecurrenceError(name, f"{value} is not a real date and time") from None


def _week_start(value: str, name: str, freq: Frequency) -> tuple[str, int]:
    if value not in WEEKDAYS:
        raise RecurrenceError(name, "must be one of " + ",".join(WEEKDAYS))
    return "week_start", WEEKDAYS.index(value)


def _by_day(value: str, name: str, freq: Frequency) -> tuple[str, tuple[ByDay, ...]]:
    found: set[ByDay] = set()
    for item in value.split(","):
        match = _BY_DAY.fullmatch(item)
        if not match:
            raise RecurrenceError(name, f"{item[:20]!r} is not a weekday like MO, 2MO or -1FR")
        ordinal = None
        if match[1] is not None:
            if freq not in (Frequency.MONTHLY, Frequency.YEARLY):
                raise RecurrenceError(
                    name, "a numbered weekday (like 2MO) needs FREQ=MONTHLY or YEARLY"
                )
            ordinal = _number(match[1], name, 1, 53, signed=True)
        found.add(ByDay(WEEKDAYS.index(match[2]), ordinal))

    def order(day: ByDay) -> tuple[int, int, int]:
        ordinal = day.ordinal or 0
        return (0 if ordinal == 0 else 1 if ordinal > 0 else 2, ordinal, day.weekday)

    return "by_day", tuple(sorted(found, key=order))


def _by_month_day(value: str, name: str, freq: Frequency) -> tuple[str, tuple[int, ...]]:
    if freq is Frequency.WEEKLY:
        raise RecurrenceError(name, "cannot be used with FREQ=WEEKLY (RFC 5545)")
    return "by_month_day", _numbers(value, name, 31, signed=True)


def _by_month(value: str, name: str, freq: Frequency) -> tuple[str, tuple[int, ...]]:
    return "by_month", _numbers(value, name, 12, signed=False)


def _by_set_pos(value: str, name: str, freq: Frequency) -> tuple[str, tuple[int, ...]]:
    return "by_set_pos", _numbers(value, name, 366, signed=True)


_HANDLERS = {
    "INTERVAL": _interval,
    "COUNT": _count,
    "UNTIL": _until,
    "WKST": _week_start,
    "BYDAY": _by_day,
    "BYMONTHDAY": _by_month_day,
    "BYMONTH": _by_month,
    "BYSETPOS": _by_set_pos,
}


def _most_dates(rule: Rule) -> int:
    """An upper bound on the dates one period of the rule selects, for BYSETPOS."""
    most = _PERIOD_DAYS.get(rule.freq, 366)
    if rule.freq is Frequency.WEEKLY and rule.by_day:
        most = min(most, len({day.weekday for day in rule.by_day}))
    if rule.freq is Frequency.MONTHLY:
        if rule.by_month_day:
            most = min(most, len(rule.by_month_day))
        if rule.by_day:
            most = min(most, sum(1 if day.ordinal else 5 for day in rule.by_day))
    return most


def _check_satisfiable(rule: Rule) -> None:
    """Refuse a rule that can never produce a date, naming the part that makes it empty."""
    months = rule.by_month or tuple(range(1, 13))
    longest = max(_MONTH_DAYS[month - 1] for month in months)
    if rule.by_month_day and all(abs(day) > longest for day in rule.by_month_day):
        raise RecurrenceError(
            "BYMONTHDAY", f"never matches: the months allowed have at most {longest} days"
        )
    ordinals = [day.ordinal for day in rule.by_day if day.ordinal is not None]
    within_month = rule.freq is Frequency.MONTHLY or rule.by_month
    if ordinals and within_month and all(abs(ordinal) > 5 for ordinal in ordinals):
        raise RecurrenceError("BYDAY", "never matches: a month has at most 5 of each weekday")
    if rule.by_set_pos:
        if not (rule.by_day or rule.by_month_day or rule.by_month):
            raise RecurrenceError("BYSETPOS", "needs another BYxxx part to select from")
        most = _most_dates(rule)
        if all(abs(position) > most for position in rule.by_set_pos):
            dates = "1 date" if most == 1 else f"{most} dates"
            period = _PERIOD_NAMES[rule.freq]
            raise RecurrenceError(
                "BYSETPOS", f"never matches: the rule selects at most {dates} a {period}"
            )
    # The rest (BYMONTHDAY=1;BYDAY=2MO, say) shows only on the calendar; one bounded probe.
    if not matches_some_date(rule):
        culprit = next(
            (
                name
                for name, values in (
                    ("BYSETPOS", rule.by_set_pos),
                    ("BYDAY", rule.by_day),
                    ("BYMONTHDAY", rule.by_month_day),
                    ("BYMONTH", rule.by_month),
                )
                if values
            ),
            "FREQ",
        )
        raise RecurrenceError(culprit, "never matches: no date satisfies all the BYxxx parts")

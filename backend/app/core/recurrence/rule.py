"""The recurrence rule as a value: what a parsed RRULE holds, and its one canonical spelling."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RecurrenceError(ValueError):
    """A recurrence rule the engine refuses. `part` names the RRULE part at fault (`FREQ`,
    `BYDAY`, ...), or is None when the text as a whole is unusable (empty, too long, not
    `NAME=VALUE` pairs)."""

    def __init__(self, part: str | None, message: str) -> None:
        super().__init__(f"{part}: {message}" if part else message)
        self.part = part
        self.message = message


class Frequency(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


@dataclass(frozen=True, slots=True)
class ByDay:
    """A BYDAY entry: `weekday` 0 (Monday) to 6 (Sunday), with an optional `ordinal` (2 in
    `2MO`: the second Monday; -1 in `-1FR`: the last Friday) of the month or year."""

    weekday: int
    ordinal: int | None = None

    def __str__(self) -> str:
        return f"{self.ordinal or ''}{WEEKDAYS[self.weekday]}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated rule. Build it with `parse_rule`; `str(rule)` is its canonical text.

    `until` is a `date` (inclusive, a local date) or an aware UTC `datetime` (inclusive).
    Sequences are sorted and free of duplicates, so equal rules compare equal.
    """

    freq: Frequency
    interval: int = 1
    by_day: tuple[ByDay, ...] = ()
    by_month_day: tuple[int, ...] = ()
    by_month: tuple[int, ...] = ()
    by_set_pos: tuple[int, ...] = ()
    week_start: int = 0
    count: int | None = None
    until: date | datetime | None = None

    def __str__(self) -> str:
        # The order of RFC 5545's recur grammar (section 3.3.10); defaults are left out.
        parts = [f"FREQ={self.freq}"]
        if isinstance(self.until, datetime):
            parts.append(f"UNTIL={self.until:%Y%m%dT%H%M%SZ}")
        elif self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        for name, values in (
            ("BYDAY", self.by_day),
            ("BYMONTHDAY", self.by_month_day),
            ("BYMONTH", self.by_month),
            ("BYSETPOS", self.by_set_pos),
        ):
            if values:
                parts.append(f"{name}={','.join(map(str, values))}")
        if self.week_start != 0:
            parts.append(f"WKST={WEEKDAYS[self.week_start]}")
        return ";".join(parts)

    @property
    def is_bare(self) -> bool:
        """No BYxxx part: the pattern repeats the start's own day, weekday or date."""
        return not (self.by_day or self.by_month_day or self.by_month or self.by_set_pos)

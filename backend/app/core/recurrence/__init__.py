"""The recurrence engine: RRULE parsing and occurrences in the user's time zone. Pure: no
database, no HTTP, no clock. docs/guides/recurring-tasks.md states the rules for users.

Interface
---------
- `parse_rule(text) -> Rule` validates an RFC 5545 RRULE (`FREQ=MONTHLY;BYDAY=-1FR`, an
  optional `RRULE:` prefix, any letter case) or raises `RecurrenceError(part, message)`;
  `part` names the RRULE part at fault (`FREQ`, `BYDAY`, ...) or is None for text that is not
  a rule at all, so the API can answer a 422 naming `recurrence` and the part. `str(rule)` is
  the canonical text (RFC part order, sorted values, defaults left out): store and show that.
- `next_occurrence(rule, *, due, zone, basis, count_done, completed_at, time_of_day)` is the due
  after `due`, or None when the series is over. `due` is a `date` (all-day) or an aware
  datetime (timed, returned in UTC); `zone` an IANA name.
- `upcoming(rule, *, due, zone, limit, count_done, time_of_day)` is the preview: the current
  due and the ones after it, `limit` 1 to `MAX_UPCOMING` in all.
- `local_time_of_day(due, zone)` is the wall time to keep as the series' time of day.

Relative reminder times (`due - before`, nominal days, exact hours) are in the sibling module
`app.core.reminder_times`, with the same DST resolution.

What the API stores per recurring task
--------------------------------------
- `recurrence`: `str(parse_rule(text))`; parse it again when needed (parsing is cached).
- `recurrence_basis`: `Basis.due` or `Basis.completion`.
- `count_done`: occurrences completed or skipped before the current due, 0 when the rule is
  set or the due is edited by hand (the series restarts there). Each advance adds 1. COUNT=n
  means n occurrences in all, the current due included: `next_occurrence` returns None once
  `count_done + 1 >= n`.
- `time_of_day`, for timed dues: `local_time_of_day(due, zone)` taken when the user sets the
  due or the rule. It keeps a 02:30 series at 02:30 after a spring-forward day moved one
  occurrence to 03:30; the due alone cannot tell 02:30-moved from a real 03:30.

The completion contract
-----------------------
`next_occurrence` is a pure function of its arguments. Completing (or skipping) an occurrence
is therefore: read the task, compute the next due from the task's current due, then write the
new due with `count_done + 1` (or close the task when the answer is None) guarded by the task's
version (`UPDATE ... WHERE id = :id AND version = :read_version`). A retry or a second tab
that read the same version computes the same next due and finds the version moved on, so the
same occurrence is never advanced twice.

Semantics in short
------------------
- Time zones: a timed series keeps its wall time in `zone` (09:00 Europe/Berlin is 08:00 UTC
  in winter, 07:00 in summer). A wall time in a DST gap is read with the offset before the gap
  (02:30 -> 03:30 new time), one occurring twice is the first (RFC 5545 section 3.3.5); the
  next occurrence is back at the series' time. All-day dues are dates, never instants.
- The current due always counts as an occurrence (RFC 5545's DTSTART), even when it does not
  match the pattern; the next one matches it.
- Missing dates are skipped (RFC 5545): monthly on the 31st skips short months, yearly on
  29 February happens in leap years only. BYMONTHDAY=-1 is the last day of the month.
- UNTIL is inclusive: a date bounds the local date, a UTC moment bounds the instant (for
  all-day dues, the local date of that moment).
- Basis completion restarts the pattern on the completion's local date and takes the first
  occurrence on a later date, at the series' time of day; a bare FREQ=MONTHLY or YEARLY
  ("every! month") lands on the month's last day when the date does not exist.
- Occurrences are looked for up to 400 years ahead; beyond that the series is over.
"""

from app.core.recurrence.occurrences import (
    MAX_UPCOMING,
    Basis,
    Due,
    local_time_of_day,
    next_occurrence,
    upcoming,
)
from app.core.recurrence.parse import MAX_COUNT, MAX_INTERVAL, MAX_RULE_LENGTH, parse_rule
from app.core.recurrence.rule import ByDay, Frequency, RecurrenceError, Rule

__all__ = [
    "MAX_COUNT",
    "MAX_INTERVAL",
    "MAX_RULE_LENGTH",
    "MAX_UPCOMING",
    "Basis",
    "ByDay",
    "Due",
    "Frequency",
    "RecurrenceError",
    "Rule",
    "local_time_of_day",
    "next_occurrence",
    "parse_rule",
    "upcoming",
]

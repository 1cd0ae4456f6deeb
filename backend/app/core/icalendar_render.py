"""Tasks as iCalendar (RFC 5545) components, written with the `icalendar` library, which does
the escaping and the line folding. Pure: no database, no HTTP, no clock.

A calendar is written as a stream of byte chunks: `calendar_head` (the VCALENDAR properties
and the user's VTIMEZONE), one `render_task` per task, then `CALENDAR_END`. Each chunk is a
complete content line or component, so any number of tasks costs the memory of one.

Two flavours (`Flavour`):
- `todo`: one VTODO per task, dated or not (Thunderbird, Apple Reminders, tasks.org).
- `events`: one VEVENT per dated task, all-day or at its due moment (Google Calendar and
  Outlook show no VTODO).

Times: a timed due is written in the user's zone (`TZID`, with its VTIMEZONE in the head), so a
recurring series keeps its wall time across daylight saving changes as our own engine does;
for a user in UTC it is written in UTC (`Z`). All-day dues are DATE values. The recurrence
rule is our canonical RRULE, restated relative to the current due (DTSTART): COUNT counts the
occurrences left, and UNTIL takes the value type RFC 5545 requires for DTSTART's type.
"""

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event, Timezone, Todo, vRecur, vText
from icalendar.cal.component import Component

from app.core.recurrence import Rule, parse_rule
from app.core.reminder_times import parse_before

PRODID = "-//Tasks API//Calendar feed//EN"
UID_DOMAIN = "tasks-api"
# How often a subscribed client should poll (RFC 7986 REFRESH-INTERVAL, and the older
# X-PUBLISHED-TTL that Outlook and Apple read).
REFRESH_INTERVAL = "PT1H"
CALENDAR_END = b"END:VCALENDAR\r\n"
# An all-day task's relative reminders count from this local time when none is set (the
# same default as services.reminders).
DEFAULT_ALL_DAY_TIME = time(9, 0)
# Our priority (0 none, 1 low, 2 medium, 3 high) as RFC 5545 PRIORITY (1 highest, 9 lowest,
# 0 undefined): high 1, medium 5, low 9, as RFC 5545 section 3.8.1.9 groups them.
PRIORITIES = {0: 0, 1: 9, 2: 5, 3: 1}


class Flavour(StrEnum):
    todo = "todo"
    events = "events"


@dataclass(frozen=True, slots=True)
class CalendarReminder:
    """A reminder as the calendar needs it: an absolute moment, or `before` the due (ISO 8601
    duration text) counted from `time` of day for an all-day due."""

    at: datetime | None
    before: str | None
    time: time | None


@dataclass(frozen=True, slots=True)
class CalendarTask:
    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: int
    due_date: date | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    recurrence: str | None
    recurrence_done: int
    recurrence_time: time | None
    parent_id: uuid.UUID | None
    tags: Sequence[str]
    reminders: Sequence[CalendarReminder]


def task_uid(task_id: uuid.UUID) -> str:
    return f"{task_id}@{UID_DOMAIN}"


def calendar_head(*, name: str, zone: str, first: date, last: date) -> bytes:
    """BEGIN:VCALENDAR, its properties and the VTIMEZONE of `zone` from `first` to `last`
    (none for UTC, whose times are written with `Z`)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    head = "\r\n".join(lines).encode() + b"\r\n"
    # The name goes through the library: it escapes and folds user text.
    props = Todo()
    # vText explicitly: on a component that does not define them, these would be written
    # unescaped.
    props.add("name", vText(name))
    props.add("x-wr-calname", vText(name))
    props.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    props.add("x-published-ttl", REFRESH_INTERVAL)
    if not _is_utc(zone):
        props.add("x-wr-timezone", zone)
    head += _properties(props)
    if not _is_utc(zone):
        head += Timezone.from_tzid(zone, first_date=first, last_date=last).to_ical()
    return head


def render_task(task: CalendarTask, *, flavour: Flavour, zone: str) -> bytes:
    """The task as one VTODO, or as one VEVENT (b"" for an undated task in `events`)."""
    due = _due(task)
    if flavour is Flavour.events:
        if due is None:
            return b""
        component: Component = Event()
        component.add("uid", f"{task.id}-due@{UID_DOMAIN}")
    else:
        component = Todo()
        component.add("uid", task_uid(task.id))
    component.add("dtstamp", task.updated_at)
    component.add("created", task.created_at)
    component.add("last-modified", task.updated_at)
    component.add("summary", task.title)
    if task.description:
        component.add("description", task.description)
    if task.priority:
        component.add("priority", PRIORITIES[task.priority])
    if task.tags:
        component.add("categories", list(task.tags))
    if task.parent_id is not None:
        component.add("related-to", task_uid(task.parent_id))
    recurs = task.recurrence is not None and not task.completed
    start = _start(task, zone)
    exact = _exact(start, task)
    if start is not None:
        component.add("dtstart", start if recurs else exact)
    if flavour is Flavour.events:
        if isinstance(start, date) and not isinstance(start, datetime):
            # All-day: DTEND is exclusive, the next day.
            component.add("dtend", start + timedelta(days=1))
        component.add("transp", "TRANSPARENT")  # a task does not make its owner busy
    else:
        if exact is not None:
            component.add("due", exact)
        component.add("status", "COMPLETED" if task.completed else "NEEDS-ACTION")
        if task.completed_at is not None and task.completed:
            component.add("completed", task.completed_at)
    if start is not None and recurs:
        component.add("rrule", vRecur.from_ical(str(_restated(task, zone))))
        if exact is not start:
            # The due is the second of a wall time that occurs twice (autumn), which a
            # TZID value cannot name (RFC 5545 reads it as the first): the series keeps its
            # wall time in DTSTART, and this one occurrence moves to its real moment.
            component.add("exdate", start)
            component.add("rdate", exact)
    for reminder in task.reminders:
        alarm = _alarm(reminder, task, start)
        if alarm is not None:
            component.add_component(alarm)
    return bytes(component.to_ical(sorted=False))


def _properties(component: Component) -> bytes:
    """A component's content lines without its BEGIN and END: calendar properties."""
    lines = component.to_ical().split(b"\r\n")
    return b"\r\n".join(lines[1:-2]) + b"\r\n"


def _is_utc(zone: str) -> bool:
    return zone in {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu"}


def _due(task: CalendarTask) -> date | datetime | None:
    return task.due_date if task.due_date is not None else task.due_at


def _start(task: CalendarTask, zone: str) -> date | datetime | None:
    """DTSTART (and DUE): the date, or the due moment in the user's zone (UTC for UTC).

    A timed series whose current due a DST gap moved (02:30 written as 03:30) starts at the
    series' own wall time: RFC 5545 reads a time in a gap with the offset before it, which
    is the same instant, and the later occurrences are then at 02:30 as ours are."""
    if task.due_date is not None:
        return task.due_date
    if task.due_at is None:
        return None
    if _is_utc(zone):
        return task.due_at.astimezone(UTC)
    zone_info = ZoneInfo(zone)
    local = task.due_at.astimezone(zone_info)
    if task.recurrence is not None and task.recurrence_time is not None:
        series = datetime.combine(local.date(), task.recurrence_time, zone_info)
        if series.astimezone(UTC) == task.due_at:
            return series
    return local


def _exact(start: date | datetime | None, task: CalendarTask) -> date | datetime | None:
    """`start`, or the due in UTC when `start` names another moment in RFC 5545's reading:
    the second of a wall time that occurs twice."""
    if not isinstance(start, datetime) or task.due_at is None:
        return start
    if start.replace(fold=0).astimezone(UTC) == task.due_at:
        return start
    return task.due_at.astimezone(UTC)


def _restated(task: CalendarTask, zone: str) -> Rule:
    """The task's rule relative to its current due: COUNT counts what is left (ours counts
    from the series' first occurrence), UNTIL is a DATE for an all-day due and a UTC moment
    for a timed one (RFC 5545, 3.3.10), meaning what ours means."""
    assert task.recurrence is not None  # noqa: S101 - checked by the caller
    rule = parse_rule(task.recurrence)
    count = None if rule.count is None else max(1, rule.count - task.recurrence_done)
    until = rule.until
    zone_info = ZoneInfo(zone)
    if task.due_date is not None and isinstance(until, datetime):
        until = until.astimezone(zone_info).date()  # the local date it falls on
    elif task.due_at is not None and until is not None and not isinstance(until, datetime):
        # The local date's last second, as a UTC moment.
        until = datetime.combine(until, time(23, 59, 59), zone_info).astimezone(UTC)
    return dataclasses.replace(rule, count=count, until=until)


def _alarm(
    reminder: CalendarReminder, task: CalendarTask, start: date | datetime | None
) -> Alarm | None:
    """A VALARM: at a moment (`TRIGGER;VALUE=DATE-TIME`), or relative to DTSTART, the due,
    so that it follows each occurrence of a recurring task. None for a relative reminder of
    a task without a due."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", task.title)
    if reminder.at is not None:
        alarm.add("trigger", reminder.at.astimezone(UTC), parameters={"VALUE": "DATE-TIME"})
        return alarm
    if reminder.before is None or start is None:
        return None
    before = parse_before(reminder.before)
    # Days are nominal in both RFC 5545 and our reminders; hours and less are exact.
    offset = -timedelta(days=before.days, seconds=before.seconds)
    if not isinstance(start, datetime):
        at_time = reminder.time or DEFAULT_ALL_DAY_TIME
        offset += timedelta(hours=at_time.hour, minutes=at_time.minute, seconds=at_time.second)
    alarm.add("trigger", offset)
    return alarm

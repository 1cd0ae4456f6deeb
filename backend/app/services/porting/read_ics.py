"""iCalendar VTODOs (RFC 5545) as an ImportPlan, read with the `icalendar` library.

SUMMARY -> title, DESCRIPTION, DUE (or DTSTART without DUE; a floating time is in your zone),
PRIORITY (1-4 high, 5 medium, 6-9 low, 0 none: RFC 5545 3.8.1.9), STATUS:COMPLETED or
COMPLETED -> completed, CATEGORIES -> tags, RRULE -> recurrence, RELATED-TO (RELTYPE=PARENT,
the default) -> the parent, VALARM with a TRIGGER before the due or at a moment -> reminders,
UID -> what a second import of the file recognises. VEVENTs and other components are ignored.

Before the library sees the file, a scan of its lines refuses nesting deeper than MAX_DEPTH
and more than the given number of components: the parser keeps every component in memory.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from app.services.porting.plan import ImportPlan, PlannedTask, decode
from app.services.porting.read_csv import digest

SOURCE = "ics"
# VCALENDAR > VTODO > VALARM, or VCALENDAR > VTIMEZONE > STANDARD.
MAX_DEPTH = 3


def _scan(text: str, plan: ImportPlan, max_components: int) -> list[int] | None:
    """The line of each BEGIN:VTODO, in order; None (with the problem noted) for a file
    nested too deep, with too many components, or whose BEGIN and END do not match."""
    depth = 0
    components = 0
    todos: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.upper()
        if line.startswith("BEGIN:"):
            depth += 1
            components += 1
            if depth > MAX_DEPTH:
                plan.problem(number, "file", f"components nested more than {MAX_DEPTH} deep")
                return None
            if components > max_components:
                plan.problem(number, "file", f"more than {max_components} components")
                return None
            if line.strip() == "BEGIN:VTODO":
                todos.append(number)
        elif line.startswith("END:"):
            depth -= 1
            if depth < 0:
                plan.problem(number, "file", "END without BEGIN")
                return None
    if components == 0:
        plan.problem(1, "file", "not an iCalendar file (no BEGIN:VCALENDAR)")
        return None
    if depth != 0:
        plan.problem(None, "file", "BEGIN without END: the file is cut short")
        return None
    return todos


def _moment(value: Any, zone: str) -> str | None:
    """A DUE/DTSTART/COMPLETED value as the API reads it: a date, or a moment with offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating: the user's own wall time
            value = value.replace(tzinfo=ZoneInfo(zone))
        moment: str = value.astimezone(UTC).isoformat()
        return moment
    if isinstance(value, date):
        return value.isoformat()
    return None


def _duration(delta: timedelta) -> str:
    """A positive timedelta as an ISO 8601 duration (`P1DT2H`, `PT15M`)."""
    days, seconds = delta.days, delta.seconds
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{seconds}S" if seconds else ""
    return text + ("T" + clock if clock else "") if (days or clock) else "PT0S"


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _categories(todo: Any) -> list[str]:
    value = todo.get("CATEGORIES")
    if value is None:
        return []
    found: list[str] = []
    for prop in value if isinstance(value, list) else [value]:
        found += [str(category) for category in getattr(prop, "cats", [])]
    return found


def _priority(todo: Any, line: int, plan: ImportPlan) -> str:
    try:
        level = int(todo.get("PRIORITY", 0))
    except (TypeError, ValueError):
        plan.warn(line, "PRIORITY", "not a number; no priority")
        return "none"
    if 1 <= level <= 4:
        return "high"
    if level == 5:
        return "medium"
    return "low" if 6 <= level <= 9 else "none"


def _reminders(todo: Any, line: int, plan: ImportPlan) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for alarm in todo.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        value = getattr(trigger, "dt", None)
        if isinstance(value, datetime):
            moment = _moment(value, "UTC")
            if moment is not None:
                found.append({"at": moment})
        elif isinstance(value, timedelta) and value <= timedelta(0):
            found.append({"before": _duration(-value)})
        else:
            plan.warn(line, "VALARM", "only alarms before the due or at a moment are read")
    return found


def _task(todo: Any, line: int, zone: str, plan: ImportPlan) -> PlannedTask | None:
    status = _text(todo.get("STATUS")).upper()
    if status == "CANCELLED":
        plan.warn(line, "STATUS", "a cancelled to-do is not imported")
        return None
    title = _text(todo.get("SUMMARY")).strip()
    values: dict[str, Any] = {"title": title, "priority": _priority(todo, line, plan)}
    description = _text(todo.get("DESCRIPTION"))
    if description:
        values["description"] = description
    when = todo.get("DUE") or todo.get("DTSTART")
    due = _moment(getattr(when, "dt", None), zone)
    if due is not None:
        values["due"] = due
    tags = _categories(todo)
    if tags:
        values["tags"] = tags
    completed = todo.get("COMPLETED")
    extras: dict[str, Any] = {}
    if status == "COMPLETED" or completed is not None:
        values["completed"] = True
        completed_at = _moment(getattr(completed, "dt", None), zone)
        if completed_at is not None and "T" in completed_at:
            extras["completed_at"] = completed_at
    rule = todo.get("RRULE")
    if rule is not None:
        values["recurrence"] = (rule[0] if isinstance(rule, list) else rule).to_ical().decode()
    parent: str | None = None
    related = todo.get("RELATED-TO")
    for link in related if isinstance(related, list) else [related] if related else []:
        if str(getattr(link, "params", {}).get("RELTYPE", "PARENT")).upper() == "PARENT":
            parent = str(link)
    uid = _text(todo.get("UID")).strip()
    external = uid or digest(title, _text(due), str(line))
    return PlannedTask(
        line=line,
        label="",
        external_id=external[:255],
        ref=uid or f"line {line}",
        values=values,
        parent_ref=parent,
        reminders=_reminders(todo, line, plan),
        extras=extras,
    )


def _locate(text: str, todos: list[int]) -> int | None:
    """The line of the first VTODO the library cannot read on its own, if one is."""
    lines = text.splitlines()
    for start in todos:
        end = start
        while end < len(lines) and lines[end - 1].strip().upper() != "END:VTODO":
            end += 1
        try:
            icalendar.Todo.from_ical("\r\n".join(lines[start - 1 : end]))
        except Exception:
            return start
    return None


def read(data: bytes, *, timezone: str = "UTC", max_components: int = 50_000) -> ImportPlan:
    plan = ImportPlan(SOURCE)
    text = decode(data, plan)
    if text is None:
        return plan
    todos = _scan(text, plan, max_components)
    if todos is None:
        return plan
    try:
        parsed = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        plan.problem(_locate(text, todos), "file", f"not valid iCalendar: {str(exc)[:200]}")
        return plan
    found = [todo for calendar in parsed for todo in calendar.walk("VTODO")]
    for index, todo in enumerate(found):
        line = todos[index] if index < len(todos) else None
        try:
            task = _task(todo, line or 0, timezone, plan)
        except Exception as exc:
            plan.problem(line, "VTODO", f"cannot be read: {str(exc)[:200]}")
            continue
        if task is not None:
            task.line = line
            plan.tasks.append(task)
    return plan

"""Export renderers: the account as JSON or CSV chunks, one page of tasks per chunk.

Each generator reads through services.porting.export (keyset pages) as it is consumed, so a
streamed response or the operators' CLI writes the first bytes before the last task is read.
iCalendar is the calendar feeds' own renderer (services.calendar), every task as a VTODO.
"""

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, NamedTuple

import orjson
from sqlmodel import Session, col, select

from app.core.icalendar_render import Flavour
from app.models import User
from app.services import calendar
from app.services.porting import export

# The CSV columns, in order (docs/guides/import-export.md documents each; import reads them).
CSV_COLUMNS = (
    "id",
    "list",
    "parent_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "priority",
    "due",
    "tags",
    "recurrence",
    "recurrence_basis",
    "reminders",
    "created_at",
    "updated_at",
)
# Spreadsheets run a cell starting with one of these as a formula (CSV injection, OWASP):
# such a cell is written with a leading apostrophe, which the CSV import takes off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class Rendered(NamedTuple):
    media_type: str
    extension: str
    chunks: Iterator[bytes]


def _encode(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def json_chunks(*, session: Session, user_id: uuid.UUID) -> Iterator[bytes]:
    """The version 1 document (specs/2-backend-api/contracts/export-v1.schema.json)."""
    head = _encode(export.header(session=session, user_id=user_id))
    yield head[:-1] + b',"tasks":['
    first = True
    for page in export.task_pages(session=session, user_id=user_id):
        body = b",".join(_encode(task) for task in page)
        yield body if first else b"," + body
        first = False
    yield b"]}\n"


def iso(value: date | datetime | time | None) -> str:
    """ISO 8601; UTC moments end in Z."""
    if value is None:
        return ""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def reminder_cell(reminders: list[dict[str, Any]]) -> str:
    """`PT15M`, `P1D@18:00:00` (before the due, from a time of day) or a moment, space-separated."""
    parts = []
    for reminder in reminders:
        if reminder["at"] is not None:
            parts.append(iso(reminder["at"]))
        elif reminder["time"] is not None:
            parts.append(f"{reminder['before']}@{iso(reminder['time'])}")
        else:
            parts.append(reminder["before"])
    return " ".join(parts)


def _csv_row(task: dict[str, Any], list_names: dict[uuid.UUID, str]) -> list[str]:
    return [
        str(task["id"]),
        safe_cell(list_names.get(task["list_id"], "")),
        str(task["parent_id"] or ""),
        safe_cell(task["title"]),
        safe_cell(task["description"] or ""),
        "true" if task["completed"] else "false",
        iso(task["completed_at"]),
        task["priority"],
        iso(task["due"]),
        safe_cell(", ".join(task["tags"])),
        task["recurrence"] or "",
        task["recurrence_basis"],
        reminder_cell(task["reminders"]),
        iso(task["created_at"]),
        iso(task["updated_at"]),
    ]


def csv_chunks(*, session: Session, user_id: uuid.UUID, bom: bool = False) -> Iterator[bytes]:
    """One row per task, a header row first; UTF-8, with a byte order mark if asked (Excel
    reads UTF-8 without one as its local code page)."""
    names = {item["id"]: item["name"] for item in export.lists(session=session, user_id=user_id)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield ((BOM if bom else "") + buffer.getvalue()).encode()
    for page in export.task_pages(session=session, user_id=user_id):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(task, names) for task in page)
        yield buffer.getvalue().encode()


Renderer = Callable[[Session, uuid.UUID, bool], Rendered]


def _json(session: Session, user_id: uuid.UUID, _bom: bool) -> Rendered:
    return Rendered("application/json", "json", json_chunks(session=session, user_id=user_id))


def _csv(session: Session, user_id: uuid.UUID, bom: bool) -> Rendered:
    chunks = csv_chunks(session=session, user_id=user_id, bom=bom)
    return Rendered("text/csv; charset=utf-8", "csv", chunks)


def _ics(session: Session, user_id: uuid.UUID, _bom: bool) -> Rendered:
    # Times in the user's own zone, as their calendar feeds have them.
    zone = session.execute(select(col(User.timezone)).where(col(User.id) == user_id)).scalar_one()
    chunks = calendar.iter_calendar(
        session=session, user_id=user_id, zone=zone, flavour=Flavour.todo, name="Tasks export"
    )
    return Rendered("text/calendar; charset=utf-8", "ics", chunks)


# One entry per format of `GET /api/v1/export?format=`.
RENDERERS: dict[str, Renderer] = {"json": _json, "csv": _csv, "ics": _ics}

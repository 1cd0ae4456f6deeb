"""MCP tools for reminders (issue 19): as the REST routes under /tasks/{id}/reminders and
/reminders/upcoming, through the same service and schemas."""

from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter
from sqlmodel import Session

from app.core.callers import Caller
from app.mcp import arguments as args
from app.mcp.arguments import Arguments
from app.schemas.mcp import (
    ReminderArguments,
    ReminderList,
    TaskRef,
    UpcomingArguments,
    UpcomingList,
)
from app.schemas.reminder import (
    ReminderIn,
    ReminderPublic,
    UpcomingReminder,
    reminder_fields,
    shown_reminder,
)
from app.services import reminders as reminder_service

Document = dict[str, object]

_REMINDER_IN: TypeAdapter[ReminderIn] = TypeAdapter(ReminderIn)


def add_reminder(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = ReminderArguments.model_validate(arguments)
    # The body of POST /tasks/{id}/reminders: exactly one of `at` and `before`.
    body = parsed.model_dump(exclude={"task_id"}, exclude_none=True)
    reminder_in = _REMINDER_IN.validate_python(body)
    row = reminder_service.create_reminder(
        session=session,
        user_id=caller.id,
        task_id=args.task_id_of(parsed.task_id),
        zone=caller.timezone,
        **reminder_fields(reminder_in)._asdict(),
    )
    return ReminderPublic(**shown_reminder(row._asdict())).model_dump(mode="json")


def list_reminders(session: Session, caller: Caller, arguments: Arguments) -> Document:
    ref = TaskRef.model_validate(arguments)
    rows = reminder_service.list_reminders(
        session=session, user_id=caller.id, task_id=args.task_id_of(ref.task_id)
    )
    found = [ReminderPublic(**shown_reminder(row._asdict())) for row in rows]
    return ReminderList(reminders=found).model_dump(mode="json")


def upcoming_reminders(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = UpcomingArguments.model_validate(arguments)
    now = datetime.now(UTC)
    rows = reminder_service.upcoming(
        session=session,
        user_id=caller.id,
        now=now,
        until=parsed.until if parsed.until is not None else now + timedelta(hours=24),
        limit=100,
    )
    found = [
        UpcomingReminder(**shown_reminder(row.reminder._asdict()), task_title=row.task_title)
        for row in rows
    ]
    return UpcomingList(reminders=found).model_dump(mode="json")

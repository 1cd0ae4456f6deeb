"""Reminders: per task under /api/v1/tasks/{id}/reminders, and the upcoming ones of all tasks."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.core.errors import ReminderNotFound
from app.dependencies import (
    CurrentUser,
    SessionDep,
    TaskId,
    end_transaction,
    require_json,
    require_scope,
    task_uuid,
)
from app.models.base import utcnow
from app.schemas.common import not_nullable, problem_responses
from app.schemas.reminder import (
    ReminderIn,
    ReminderPublic,
    UpcomingReminder,
    UpcomingReminders,
    reminder_fields,
    shown_reminder,
)
from app.schemas.values import Moment
from app.services import reminders as reminder_service
from app.services.reminders import ReminderRow

router = APIRouter(tags=["reminders"], responses=problem_responses(503))

TASK_REMINDERS = "/api/v1/tasks/{task_id}/reminders"
MAX_UPCOMING = 500
_BODY_ERRORS = (400, 401, 404, 413, 415, 422, 429)


def _reminder_id(reminder_id: str) -> uuid.UUID:
    # A malformed id is answered like a missing one, as for tasks.
    try:
        return uuid.UUID(reminder_id)
    except ValueError as exc:
        raise ReminderNotFound from exc


def _public(row: ReminderRow) -> ReminderPublic:
    return ReminderPublic(**shown_reminder(row._asdict()))


@router.get(
    TASK_REMINDERS,
    summary="List a task's reminders",
    response_model=list[ReminderPublic],
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("tasks:read")],
)
def list_reminders(
    task_id: TaskId, session: SessionDep, current_user: CurrentUser
) -> list[ReminderPublic]:
    """The task's reminders, oldest first."""
    rows = reminder_service.list_reminders(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    end_transaction(session)
    return [_public(row) for row in rows]


@router.post(
    TASK_REMINDERS,
    summary="Add a reminder to a task",
    status_code=status.HTTP_201_CREATED,
    response_model=ReminderPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS, 409),
)
def create_reminder(
    reminder_in: ReminderIn, task_id: TaskId, session: SessionDep, current_user: CurrentUser
) -> ReminderPublic:
    """Add a reminder: `{"at": <moment>}`, or `{"before": "PT15M"}` relative to the due
    (with `time` for all-day dues). At most 10 a task (409)."""
    row = reminder_service.create_reminder(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        zone=current_user.timezone,
        **reminder_fields(reminder_in)._asdict(),
    )
    return _public(row)


@router.get(
    TASK_REMINDERS + "/{reminder_id}",
    summary="Get a reminder",
    response_model=ReminderPublic,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("tasks:read")],
)
def get_reminder(
    task_id: TaskId, reminder_id: str, session: SessionDep, current_user: CurrentUser
) -> ReminderPublic:
    """One reminder of one of your tasks."""
    row = reminder_service.get_reminder(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        reminder_id=_reminder_id(reminder_id),
    )
    end_transaction(session)
    return _public(row)


@router.put(
    TASK_REMINDERS + "/{reminder_id}",
    summary="Replace a reminder",
    response_model=ReminderPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS),
)
def replace_reminder(
    reminder_in: ReminderIn,
    task_id: TaskId,
    reminder_id: str,
    session: SessionDep,
    current_user: CurrentUser,
) -> ReminderPublic:
    """Set a reminder anew (absolute or relative); it is armed again."""
    row = reminder_service.replace_reminder(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        reminder_id=_reminder_id(reminder_id),
        zone=current_user.timezone,
        **reminder_fields(reminder_in)._asdict(),
    )
    return _public(row)


@router.delete(
    TASK_REMINDERS + "/{reminder_id}",
    summary="Delete a reminder",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("tasks:write")],
)
def delete_reminder(
    task_id: TaskId, reminder_id: str, session: SessionDep, current_user: CurrentUser
) -> Response:
    """Delete a reminder."""
    reminder_service.delete_reminder(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        reminder_id=_reminder_id(reminder_id),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/reminders/upcoming",
    summary="List your upcoming reminders",
    response_model=UpcomingReminders,
    responses=problem_responses(401, 422, 429),
    dependencies=[require_scope("tasks:read")],
)
def list_upcoming_reminders(
    session: SessionDep,
    current_user: CurrentUser,
    until: Annotated[
        Moment | None,
        Query(
            description="Up to this moment, with a UTC offset (default: 24 hours from now).",
            # Absent, not null: a query string cannot send a null.
            json_schema_extra=not_nullable,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_UPCOMING, description="At most this many.")] = 100,
) -> UpcomingReminders:
    """Reminders that will fire from now until `until`, soonest first, for clients that
    schedule notifications themselves: not fired yet, of open tasks."""
    now = utcnow()
    rows = reminder_service.upcoming(
        session=session,
        user_id=current_user.id,
        now=now,
        until=until if until is not None else now + timedelta(hours=24),
        limit=limit,
    )
    end_transaction(session)
    return UpcomingReminders(
        items=[
            UpcomingReminder(**shown_reminder(row.reminder._asdict()), task_title=row.task_title)
            for row in rows
        ]
    )

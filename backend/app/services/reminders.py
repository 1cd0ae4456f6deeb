"""Reminders of a task: absolute (`at`) or relative to its due (`before`), at most 10 a task.

Each reminder keeps `fire_at`, the moment it fires next, so the scheduler (app.jobs.reminders)
finds due reminders with one indexed query. A relative reminder's `fire_at` follows the due:
whoever changes a due (PATCH, PUT, completing or skipping a recurring task) calls `follow_due`
in the same transaction, which also re-arms a reminder that fired for the old due.
Every query is scoped by user_id.
"""

import uuid
from datetime import date, datetime, time
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, update
from sqlmodel import Session

from app.core.errors import ReminderNotFound, TaskNotFound, TooManyReminders
from app.core.reminder_times import parse_before, reminder_at
from app.models import Reminder
from app.models.base import utcnow
from app.models.task import TASKS

MAX_REMINDERS_PER_TASK = 10
# The time of day an all-day task's relative reminders count from when none is given.
DEFAULT_ALL_DAY_TIME = time(9, 0)

REMINDERS: Table = Reminder.__table__  # type: ignore[attr-defined]


class TaskDue(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def due_at(self) -> datetime | None: ...


class ReminderRow(NamedTuple):
    id: uuid.UUID
    task_id: uuid.UUID
    at: datetime | None
    before: str | None
    time: time | None
    fire_at: datetime | None
    fired_at: datetime | None
    missed: bool
    created_at: datetime


class UpcomingRow(NamedTuple):
    reminder: ReminderRow
    task_title: str


_COLUMNS = [REMINDERS.c[name] for name in ReminderRow._fields]


def fire_time(
    *,
    at: datetime | None,
    before: str | None,
    at_time: time | None,
    due_date: date | None,
    due_at: datetime | None,
    zone: str,
) -> datetime | None:
    """When a reminder fires: `at`, or `before` the due in the user's zone (None while the
    task has no due, or before the calendar begins)."""
    if at is not None:
        return at
    if before is None:
        return None
    duration = parse_before(before)
    if due_at is not None:
        return reminder_at(due_at, duration, zone=zone)
    if due_date is not None:
        return reminder_at(due_date, duration, zone=zone, at_time=at_time or DEFAULT_ALL_DAY_TIME)
    return None


def follow_due(*, session: Session, user_id: uuid.UUID, task: TaskDue, zone: str) -> None:
    """Move the task's relative reminders to its (new) due, in the caller's transaction. A
    reminder whose time changes is armed again, even if it fired for the old due."""
    rows = session.execute(
        select(REMINDERS.c.id, REMINDERS.c.before, REMINDERS.c.time, REMINDERS.c.fire_at).where(
            REMINDERS.c.task_id == task.id,
            REMINDERS.c.user_id == user_id,
            REMINDERS.c.before.is_not(None),
        )
    ).all()
    for reminder_id, before, at_time, old in rows:
        new = fire_time(
            at=None,
            before=before,
            at_time=at_time,
            due_date=task.due_date,
            due_at=task.due_at,
            zone=zone,
        )
        if new == old:
            continue
        session.execute(
            update(REMINDERS)
            .where(REMINDERS.c.id == reminder_id, REMINDERS.c.user_id == user_id)
            .values(fire_at=new, fired_at=None, missed=False)
        )


def _task_due(session: Session, user_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool) -> Any:
    statement = select(TASKS.c.id, TASKS.c.due_date, TASKS.c.due_at).where(
        TASKS.c.id == task_id, TASKS.c.user_id == user_id, TASKS.c.deleted_at.is_(None)
    )
    if lock:
        # Concurrent creates on one task queue here, so the count below stays true.
        statement = statement.with_for_update()
    row = session.execute(statement).first()
    if row is None:
        raise TaskNotFound
    return row


def list_reminders(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[ReminderRow]:
    """The task's reminders, oldest first; TaskNotFound for a task that is not the user's."""
    _task_due(session, user_id, task_id, lock=False)
    rows = session.execute(
        select(*_COLUMNS)
        .where(REMINDERS.c.task_id == task_id, REMINDERS.c.user_id == user_id)
        .order_by(REMINDERS.c.created_at, REMINDERS.c.id)
    ).all()
    return [ReminderRow._make(row) for row in rows]


def get_reminder(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, reminder_id: uuid.UUID
) -> ReminderRow:
    row = session.execute(
        select(*_COLUMNS).where(
            REMINDERS.c.id == reminder_id,
            REMINDERS.c.task_id == task_id,
            REMINDERS.c.user_id == user_id,
        )
    ).first()
    if row is None:
        raise ReminderNotFound
    return ReminderRow._make(row)


def create_reminder(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    at: datetime | None,
    before: str | None,
    at_time: time | None,
    zone: str,
) -> ReminderRow:
    """Add a reminder; TooManyReminders beyond MAX_REMINDERS_PER_TASK."""
    task = _task_due(session, user_id, task_id, lock=True)
    count = session.execute(
        select(func.count()).where(REMINDERS.c.task_id == task_id, REMINDERS.c.user_id == user_id)
    ).scalar_one()
    if count >= MAX_REMINDERS_PER_TASK:
        session.rollback()
        raise TooManyReminders
    row = ReminderRow(
        id=uuid.uuid4(),
        task_id=task_id,
        at=at,
        before=before,
        time=at_time,
        fire_at=fire_time(
            at=at,
            before=before,
            at_time=at_time,
            due_date=task.due_date,
            due_at=task.due_at,
            zone=zone,
        ),
        fired_at=None,
        missed=False,
        created_at=utcnow(),
    )
    session.execute(insert(REMINDERS).values(user_id=user_id, **row._asdict()))
    session.commit()
    return row


def replace_reminder(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    reminder_id: uuid.UUID,
    at: datetime | None,
    before: str | None,
    at_time: time | None,
    zone: str,
) -> ReminderRow:
    """Set a reminder anew: it is armed again (not fired, not missed)."""
    task = _task_due(session, user_id, task_id, lock=False)
    fire_at = fire_time(
        at=at,
        before=before,
        at_time=at_time,
        due_date=task.due_date,
        due_at=task.due_at,
        zone=zone,
    )
    row = session.execute(
        update(REMINDERS)
        .where(
            REMINDERS.c.id == reminder_id,
            REMINDERS.c.task_id == task_id,
            REMINDERS.c.user_id == user_id,
        )
        .values(at=at, before=before, time=at_time, fire_at=fire_at, fired_at=None, missed=False)
        .returning(*_COLUMNS)
    ).first()
    if row is None:
        session.rollback()
        raise ReminderNotFound
    session.commit()
    return ReminderRow._make(row)


def delete_reminder(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, reminder_id: uuid.UUID
) -> None:
    deleted = session.execute(
        delete(REMINDERS)
        .where(
            REMINDERS.c.id == reminder_id,
            REMINDERS.c.task_id == task_id,
            REMINDERS.c.user_id == user_id,
        )
        .returning(REMINDERS.c.id)
    ).first()
    session.commit()
    if deleted is None:
        raise ReminderNotFound


_UPCOMING = (
    select(*_COLUMNS, TASKS.c.title)
    .join_from(
        REMINDERS,
        TASKS,
        and_(TASKS.c.id == REMINDERS.c.task_id, TASKS.c.user_id == REMINDERS.c.user_id),
    )
    .where(
        REMINDERS.c.user_id == bindparam("user_id"),
        REMINDERS.c.fired_at.is_(None),
        REMINDERS.c.fire_at >= bindparam("now", type_=REMINDERS.c.fire_at.type),
        REMINDERS.c.fire_at <= bindparam("until", type_=REMINDERS.c.fire_at.type),
        TASKS.c.completed.is_(False),
        TASKS.c.deleted_at.is_(None),  # a trashed task reminds of nothing
    )
    .order_by(REMINDERS.c.fire_at, REMINDERS.c.id)
    .limit(bindparam("row_limit"))
)


def upcoming(
    *,
    session: Session,
    user_id: uuid.UUID,
    until: datetime,
    limit: int,
    now: datetime | None = None,
) -> list[UpcomingRow]:
    """The user's reminders that will fire from now until `until`, soonest first: not fired
    yet, of open tasks."""
    rows = session.execute(
        _UPCOMING,
        {"user_id": user_id, "now": now or utcnow(), "until": until, "row_limit": limit},
    ).all()
    return [UpcomingRow(ReminderRow._make(row[:-1]), row[-1]) for row in rows]


def parse_before_text(text: str) -> str:
    """The canonical text of a `before` duration (ReminderTimeError if refused)."""
    return str(parse_before(text))

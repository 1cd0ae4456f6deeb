"""The account as a document (JSON, version 1) or a spreadsheet (CSV), written as it is read.

Tasks are read in keyset pages of PAGE_SIZE on (created_at, id), each page with its tags,
reminders and completions in one query apiece, and rendered page by page: an export holds one
page in memory whatever the size of the account. Every query is scoped by user_id.
"""

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, or_, select
from sqlmodel import Session, col

from app.models import Tag, TaskCompletion, TaskList, User
from app.models.base import utcnow
from app.models.task import TASKS
from app.schemas.values import Priority
from app.services import tags as tag_service
from app.services.reminders import REMINDERS

FORMAT_NAME = "tasks-api"
FORMAT_VERSION = 1
PAGE_SIZE = 500

COMPLETIONS: Table = TaskCompletion.__table__  # type: ignore[attr-defined]


class ExportedTask(NamedTuple):
    """A task as both formats show it: the document's `tasks` item, before encoding."""

    document: dict[str, Any]
    list_name: str


def profile(*, session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    user = session.scalars(select(User).where(col(User.id) == user_id)).one()
    return {"email": user.email, "name": user.name, "timezone": user.timezone}


def lists(*, session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            col(TaskList.id),
            col(TaskList.name),
            col(TaskList.color),
            col(TaskList.position),
            col(TaskList.archived),
            col(TaskList.inbox),
            col(TaskList.created_at),
        )
        .where(col(TaskList.user_id) == user_id)
        .order_by(col(TaskList.position), col(TaskList.name_key), col(TaskList.id))
    ).all()
    return [row._asdict() for row in rows]


def tag_names(*, session: Session, user_id: uuid.UUID) -> list[str]:
    """Every tag, including those on no task, sorted like the API sorts them."""
    return list(
        session.scalars(
            select(col(Tag.name))
            .where(col(Tag.user_id) == user_id)
            .order_by(col(Tag.name_key), col(Tag.id))
        )
    )


_TASK_COLUMNS = [
    TASKS.c[name]
    for name in (
        "id",
        "list_id",
        "parent_id",
        "title",
        "description",
        "completed",
        "completed_at",
        "priority",
        "due_date",
        "due_at",
        "recurrence",
        "recurrence_basis",
        "recurrence_done",
        "recurrence_time",
        "position",
        "created_at",
        "updated_at",
    )
]


def _task_page(
    session: Session, user_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None
) -> list[Any]:
    statement = select(*_TASK_COLUMNS).where(
        TASKS.c.user_id == user_id, TASKS.c.deleted_at.is_(None)
    )
    if after is not None:
        created_at, task_id = after
        statement = statement.where(
            or_(
                TASKS.c.created_at > created_at,
                and_(TASKS.c.created_at == created_at, TASKS.c.id > task_id),
            )
        )
    statement = statement.order_by(TASKS.c.created_at, TASKS.c.id).limit(PAGE_SIZE)
    return list(session.execute(statement).all())


def _reminders(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {task_id: [] for task_id in ids}
    rows = session.execute(
        select(REMINDERS.c.task_id, REMINDERS.c.at, REMINDERS.c.before, REMINDERS.c.time)
        .where(REMINDERS.c.user_id == user_id, REMINDERS.c.task_id.in_(ids))
        .order_by(REMINDERS.c.task_id, REMINDERS.c.created_at, REMINDERS.c.id)
    )
    for task_id, at, before, at_time in rows:
        found[task_id].append({"at": at, "before": before, "time": at_time})
    return found


def _completions(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {task_id: [] for task_id in ids}
    rows = session.execute(
        select(
            COMPLETIONS.c.task_id,
            COMPLETIONS.c.due_date,
            COMPLETIONS.c.due_at,
            COMPLETIONS.c.completed_at,
        )
        .where(COMPLETIONS.c.user_id == user_id, COMPLETIONS.c.task_id.in_(ids))
        .order_by(COMPLETIONS.c.task_id, COMPLETIONS.c.completed_at, COMPLETIONS.c.id)
    )
    for task_id, due_date, due_at, completed_at in rows:
        due = due_date if due_date is not None else due_at
        found[task_id].append({"due": due, "completed_at": completed_at})
    return found


def task_pages(*, session: Session, user_id: uuid.UUID) -> Iterator[list[dict[str, Any]]]:
    """The user's tasks (not those in the trash), oldest first, a page at a time, each task
    with its tags, reminders and completions: the document's `tasks` items."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        rows = _task_page(session, user_id, after)
        if not rows:
            return
        ids = [row.id for row in rows]
        tags = tag_service.tag_names_for_tasks(session=session, user_id=user_id, task_ids=ids)
        reminders = _reminders(session, user_id, ids)
        completions = _completions(session, user_id, ids)
        yield [
            {
                "id": row.id,
                "list_id": row.list_id,
                "parent_id": row.parent_id,
                "title": row.title,
                "description": row.description,
                "completed": row.completed,
                "completed_at": row.completed_at,
                "priority": Priority.from_level(row.priority).value,
                "due": row.due_date if row.due_date is not None else row.due_at,
                "tags": tags[row.id],
                "recurrence": row.recurrence,
                "recurrence_basis": row.recurrence_basis,
                "recurrence_done": row.recurrence_done,
                "recurrence_time": row.recurrence_time,
                "position": row.position,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "reminders": reminders[row.id],
                "completions": completions[row.id],
            }
            for row in rows
        ]
        if len(rows) < PAGE_SIZE:
            return
        after = (rows[-1].created_at, rows[-1].id)


def header(*, session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """Everything of the document but its tasks (small: one row per list and per tag)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": utcnow(),
        "profile": profile(session=session, user_id=user_id),
        "lists": lists(session=session, user_id=user_id),
        "tags": tag_names(session=session, user_id=user_id),
    }

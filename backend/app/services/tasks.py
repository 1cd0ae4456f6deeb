"""Task queries and writes. Every function is scoped by the owner's user_id."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, tuple_
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from app.core.errors import InvalidCursor, TaskNotFound
from app.models import Task
from app.models.base import utcnow
from app.schemas.task import TaskCreate, TaskReplace, TaskUpdate
from app.services.cursors import decode_cursor, encode_cursor, query_fingerprint


def create_task(*, session: Session, user_id: uuid.UUID, task_in: TaskCreate) -> Task:
    now = utcnow()
    task = Task(
        user_id=user_id,
        title=task_in.title,
        description=task_in.description,
        completed=task_in.completed,
        completed_at=now if task_in.completed else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.commit()
    return task


def get_task(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    """The task if it exists and belongs to user_id; otherwise None (the same answer)."""
    return session.exec(
        select(Task).where(col(Task.id) == task_id, col(Task.user_id) == user_id)
    ).first()


def _check_owner(task: Task, user_id: uuid.UUID) -> None:
    # The task came from get_task(user_id=...); this guards against a caller mixing them up.
    if task.user_id != user_id:
        raise TaskNotFound


def _apply_completed(task: Task, completed: bool, now: datetime) -> None:
    if completed and not task.completed:
        task.completed_at = now
    elif not completed:
        task.completed_at = None
    task.completed = completed


def _save(session: Session, task: Task, now: datetime) -> Task:
    task.updated_at = now
    session.add(task)
    try:
        session.commit()
    except StaleDataError as exc:
        # Deleted by a concurrent request after we read it: the UPDATE matched no row.
        session.rollback()
        raise TaskNotFound from exc
    return task


def update_task(*, session: Session, user_id: uuid.UUID, task: Task, task_in: TaskUpdate) -> Task:
    _check_owner(task, user_id)
    changes = task_in.model_dump(exclude_unset=True)
    if not changes:
        return task
    now = utcnow()
    if "completed" in changes:
        _apply_completed(task, changes.pop("completed"), now)
    for field, value in changes.items():
        setattr(task, field, value)
    return _save(session, task, now)


def replace_task(*, session: Session, user_id: uuid.UUID, task: Task, task_in: TaskReplace) -> Task:
    _check_owner(task, user_id)
    now = utcnow()
    task.title = task_in.title
    task.description = task_in.description
    _apply_completed(task, task_in.completed, now)
    return _save(session, task, now)


def set_completed(*, session: Session, user_id: uuid.UUID, task: Task, completed: bool) -> Task:
    """Complete or reopen. Idempotent: a retry leaves the task (and updated_at) unchanged."""
    _check_owner(task, user_id)
    if task.completed == completed:
        return task
    now = utcnow()
    _apply_completed(task, completed, now)
    return _save(session, task, now)


def delete_task(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    result = session.execute(
        delete(Task).where(col(Task.id) == task_id, col(Task.user_id) == user_id)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def _cursor_values(task: Task) -> list[Any]:
    return [task.created_at.isoformat(), str(task.id)]


def _parse_cursor_values(values: list[Any]) -> tuple[datetime, uuid.UUID]:
    try:
        created_at = datetime.fromisoformat(values[0])
        task_id = uuid.UUID(values[1])
    except (IndexError, TypeError, ValueError) as exc:
        raise InvalidCursor from exc
    if created_at.tzinfo is None or len(values) != 2:
        raise InvalidCursor
    return created_at, task_id


def list_tasks(
    *,
    session: Session,
    user_id: uuid.UUID,
    completed: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Task], str | None]:
    """One page, newest first, by keyset on (created_at, id): no OFFSET, no COUNT."""
    fingerprint = query_fingerprint({"completed": completed, "sort": "-created_at"})
    stmt = select(Task).where(col(Task.user_id) == user_id)
    if completed is not None:
        stmt = stmt.where(col(Task.completed) == completed)
    if cursor is not None:
        created_at, task_id = _parse_cursor_values(decode_cursor(cursor, fingerprint))
        # A plain tuple on the right takes the column types (UTC handling, UUID storage).
        stmt = stmt.where(tuple_(col(Task.created_at), col(Task.id)) < (created_at, task_id))
    stmt = stmt.order_by(col(Task.created_at).desc(), col(Task.id).desc()).limit(limit + 1)
    rows = list(session.exec(stmt))
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(_cursor_values(page[-1]), fingerprint)

"""The change feed's entries: an object as it is now, or a tombstone. Reads the current state
of a page's objects, each query scoped by user_id."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import Tag, TaskList
from app.models.task import TASKS
from app.schemas.task import task_document
from app.services.tasks import ShownTask, view_columns, view_of

DELETED_AT = ShownTask._fields.index("deleted_at")


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _lists(session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = session.scalars(
        select(TaskList).where(col(TaskList.user_id) == user_id, col(TaskList.id).in_(ids))
    )
    return {row.id: row for row in rows}


def _tags(session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = session.scalars(select(Tag).where(col(Tag.user_id) == user_id, col(Tag.id).in_(ids)))
    return {row.id: row for row in rows}


def _tasks(session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Tasks by id, trashed ones too (they become tombstones)."""
    rows = session.execute(
        select(*view_columns(_dialect(session))).where(
            TASKS.c.user_id == user_id, TASKS.c.id.in_(ids)
        )
    )
    return {row[0]: row for row in rows}


def list_document(row: TaskList) -> dict[str, Any]:
    """A list as the feed shows it: ListPublic without its task counts, which change with
    every task and are not changes of the list."""
    return {
        "id": row.id,
        "name": row.name,
        "color": row.color,
        "position": row.position,
        "archived": row.archived,
        "inbox": row.inbox,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "version": row.version,
    }


def tag_document(row: Tag) -> dict[str, Any]:
    """A tag as the feed shows it: TagPublic without its task counts."""
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "version": row.version}


def object_entry(kind: str, value: Any) -> dict[str, Any]:
    if kind == "task":
        view = view_of(value)
        return {
            "type": "object",
            "kind": kind,
            "id": view.task.id,
            "version": view.task.version,
            "data": task_document(view.task, view.tags),
        }
    document = list_document(value) if kind == "list" else tag_document(value)
    return {
        "type": "object",
        "kind": kind,
        "id": value.id,
        "version": value.version,
        "data": document,
    }


def tombstone_entry(kind: str, object_id: uuid.UUID, deleted_at: datetime) -> dict[str, Any]:
    return {"type": "tombstone", "kind": kind, "id": object_id, "deleted_at": deleted_at}


LOADERS = {"list": _lists, "tag": _tags, "task": _tasks}

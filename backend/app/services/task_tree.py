"""Subtasks: a task's parent is a task of the same user in the same list, at most four levels
deep. Walking a subtree takes one query per level (at most four), all scoped by user_id.

The functions here run inside the caller's transaction and never commit: a change to a tree
(completing a parent and its subtasks, moving a subtree, trashing it) commits as one.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, select, update
from sqlmodel import Session

from app.core.errors import InvalidField
from app.models.task import TASKS

MAX_DEPTH = 4  # levels: a top-level task is level 1

_CHILD = TASKS.alias("child")


class Node(NamedTuple):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    list_id: uuid.UUID
    completed: bool
    deleted_at: datetime | None


def get_node(
    session: Session, *, user_id: uuid.UUID, task_id: uuid.UUID, lock: bool = False
) -> Node | None:
    statement: Any = select(
        TASKS.c.id, TASKS.c.parent_id, TASKS.c.list_id, TASKS.c.completed, TASKS.c.deleted_at
    ).where(TASKS.c.id == task_id, TASKS.c.user_id == user_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = session.execute(statement).first()
    return Node(*row) if row is not None else None


def ancestors(session: Session, *, user_id: uuid.UUID, node: Node) -> list[Node]:
    """The node's parent, its parent, ... up to the top (nearest first)."""
    found: list[Node] = []
    parent_id = node.parent_id
    while parent_id is not None and len(found) <= MAX_DEPTH:
        parent = get_node(session, user_id=user_id, task_id=parent_id)
        if parent is None:
            break
        found.append(parent)
        parent_id = parent.parent_id
    return found


def descendant_levels(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    deleted_at: datetime | None = None,
) -> list[list[uuid.UUID]]:
    """The subtasks of a task level by level: live ones, or (with deleted_at) those trashed at
    that same moment, i.e. with it."""
    levels: list[list[uuid.UUID]] = []
    frontier = [task_id]
    while frontier and len(levels) <= MAX_DEPTH:
        condition = (
            TASKS.c.deleted_at.is_(None) if deleted_at is None else TASKS.c.deleted_at == deleted_at
        )
        rows = session.execute(
            select(TASKS.c.id).where(
                TASKS.c.user_id == user_id, TASKS.c.parent_id.in_(frontier), condition
            )
        )
        frontier = [row[0] for row in rows]
        if frontier:
            levels.append(frontier)
    return levels


def descendants(session: Session, *, user_id: uuid.UUID, task_id: uuid.UUID) -> list[uuid.UUID]:
    levels = descendant_levels(session, user_id=user_id, task_id=task_id)
    return [task for level in levels for task in level]


def check_parent(
    session: Session,
    *,
    user_id: uuid.UUID,
    parent_id: uuid.UUID,
    task_id: uuid.UUID | None,
    list_id: uuid.UUID | None,
) -> Node:
    """The parent, if a task (task_id; None for a new one) may go under it in list_id (None:
    the parent's list); otherwise a 422 naming parent_id, the same for a missing parent and
    another user's."""
    parent = get_node(session, user_id=user_id, task_id=parent_id, lock=True)
    if parent is None or parent.deleted_at is not None:
        raise InvalidField("parent_id", "no such task")
    if list_id is not None and parent.list_id != list_id:
        raise InvalidField("parent_id", "the parent is in another list")
    above = ancestors(session, user_id=user_id, node=parent)
    if task_id is not None and (parent.id == task_id or any(a.id == task_id for a in above)):
        raise InvalidField("parent_id", "a task cannot go under itself or its subtasks")
    height = 1
    if task_id is not None:
        height += len(descendant_levels(session, user_id=user_id, task_id=task_id))
    if len(above) + 1 + height > MAX_DEPTH:
        raise InvalidField("parent_id", f"subtasks go at most {MAX_DEPTH} levels deep")
    return parent


def complete_descendants(
    session: Session, *, user_id: uuid.UUID, task_id: uuid.UUID, now: datetime
) -> list[uuid.UUID]:
    """Complete every open subtask, at any depth; the subtree's ids."""
    ids = descendants(session, user_id=user_id, task_id=task_id)
    if ids:
        session.execute(
            update(TASKS)
            .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(ids), TASKS.c.completed.is_(False))
            .values(completed=True, completed_at=now, updated_at=now, version=TASKS.c.version + 1)
        )
    return ids


def reopen_ancestors(
    session: Session, *, user_id: uuid.UUID, node: Node, now: datetime
) -> list[uuid.UUID]:
    """Reopen every completed task above: an open task never sits under a completed one."""
    ids = [above.id for above in ancestors(session, user_id=user_id, node=node)]
    if ids:
        session.execute(
            update(TASKS)
            .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(ids), TASKS.c.completed.is_(True))
            .values(completed=False, completed_at=None, updated_at=now, version=TASKS.c.version + 1)
        )
    return ids


def move_descendants(
    session: Session, *, user_id: uuid.UUID, task_id: uuid.UUID, list_id: uuid.UUID
) -> None:
    """Subtasks go where their task goes (the trashed ones too: a restore finds them there)."""
    levels: list[list[uuid.UUID]] = []
    frontier = [task_id]
    while frontier and len(levels) <= MAX_DEPTH:
        rows = session.execute(
            select(TASKS.c.id).where(TASKS.c.user_id == user_id, TASKS.c.parent_id.in_(frontier))
        )
        frontier = [row[0] for row in rows]
        levels.append(frontier)
    ids = [task for level in levels for task in level]
    if ids:
        session.execute(
            update(TASKS)
            .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(ids))
            .values(list_id=list_id, version=TASKS.c.version + 1)
        )


def recount(session: Session, *, user_id: uuid.UUID, task_ids: Iterable[uuid.UUID | None]) -> None:
    """Set subtask_count and open_subtask_count of these tasks from their live subtasks."""
    ids = sorted({task_id for task_id in task_ids if task_id is not None})
    if not ids:
        return
    children = and_(
        _CHILD.c.user_id == TASKS.c.user_id,
        _CHILD.c.parent_id == TASKS.c.id,
        _CHILD.c.deleted_at.is_(None),
    )
    total = select(func.count()).select_from(_CHILD).where(children).scalar_subquery()
    still_open = (
        select(func.count())
        .select_from(_CHILD)
        .where(children, _CHILD.c.completed.is_(False))
        .scalar_subquery()
    )
    # The counts are part of what a task shows: a task whose counts change is a new version.
    session.execute(
        update(TASKS)
        .where(
            TASKS.c.user_id == user_id,
            TASKS.c.id.in_(ids),
            (TASKS.c.subtask_count != total) | (TASKS.c.open_subtask_count != still_open),
        )
        .values(subtask_count=total, open_subtask_count=still_open, version=TASKS.c.version + 1)
    )

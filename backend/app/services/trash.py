"""The trash: deleted tasks stay restorable for TRASH_RETENTION_DAYS, then are purged.

A trashed task has `deleted_at` set; every other service leaves such tasks out
(services.task_filters.visible_conditions, and `deleted_at IS NULL` in the single-task
statements of services.tasks). Every query here is scoped by user_id.
"""

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlmodel import Session

from app import database
from app.core.errors import InvalidCursor, PreconditionFailed, TaskNotFound
from app.core.etags import Expected, version_matches
from app.models.base import utcnow
from app.models.task import TASKS
from app.services import outbox, task_order, task_tree
from app.services.cursors import decode_cursor, encode_cursor, query_fingerprint
from app.services.task_versions import (
    current_version,
    versions_condition,
    versions_params,
)
from app.services.tasks import ShownTask, TaskView, get_task_view, view_columns, view_of

_TRASH_FINGERPRINT = query_fingerprint({"trash": "-deleted_at"})
# Where a row of view_columns() holds deleted_at.
_DELETED_AT = ShownTask._fields.index("deleted_at")

_TRASH = (
    update(TASKS)
    .where(
        TASKS.c.id == bindparam("the_task"),
        TASKS.c.user_id == bindparam("the_owner"),
        TASKS.c.deleted_at.is_(None),
        # A task in a tree takes the slower path (its subtasks, its parent's counts).
        TASKS.c.parent_id.is_(None),
        TASKS.c.subtask_count == 0,
    )
    .values(deleted_at=bindparam("now", type_=TASKS.c.deleted_at.type), version=TASKS.c.version + 1)
    .returning(TASKS.c.id)
)


@cache
def _trash_statement(expected_versions: int) -> Any:
    return _TRASH.where(versions_condition(expected_versions))


def trash_task(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, expected: Expected = None
) -> None:
    """Move the user's task to the trash; TaskNotFound if it is missing, someone else's or
    already in the trash; PreconditionFailed if If-Match names another version (the check is
    part of the UPDATE). Announced to webhooks as `task.deleted`."""
    events = outbox.watch(
        session=session,
        user_id=user_id,
        task_id=task_id,
        before=lambda: get_task_view(session=session, user_id=user_id, task_id=task_id),
    )
    # Not named like columns: those names are reserved for the SET clause.
    now = utcnow()
    params = {"the_task": task_id, "the_owner": user_id, "now": now}
    if expected is None:
        rows = database.run(session, _TRASH, params, prepare=True)
    elif expected:
        statement = _trash_statement(len(expected))
        rows = database.run(session, statement, params | versions_params(expected), prepare=True)
    else:
        rows = []
    if rows:
        events.deleted()
    database.commit(session)
    if not rows:
        _trash_tree(
            session, user_id=user_id, task_id=task_id, now=now, expected=expected, events=events
        )


def _trash_tree(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    now: datetime,
    expected: Expected,
    events: outbox.TaskChange,
) -> None:
    """A task with its subtasks, at the same moment (so a restore brings them back together),
    and its parent's counts, in one transaction; If-Match checked under the task's lock."""
    database.begin(session)
    try:
        node = task_tree.get_node(session, user_id=user_id, task_id=task_id, lock=True)
        if node is None or node.deleted_at is not None:
            raise TaskNotFound
        version = current_version(session=session, user_id=user_id, task_id=task_id)
        if version is not None and not version_matches(version, expected):
            raise PreconditionFailed(version)
        ids = [task_id, *task_tree.descendants(session, user_id=user_id, task_id=task_id)]
        session.execute(
            update(TASKS)
            .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(ids), TASKS.c.deleted_at.is_(None))
            .values(deleted_at=now, version=TASKS.c.version + 1)
        )
        task_tree.recount(session, user_id=user_id, task_ids=[node.parent_id])
        events.deleted()
        session.commit()
    except BaseException:
        session.rollback()
        raise


@cache
def _page_statement(dialect: str, after: bool) -> Any:
    statement = select(*view_columns(dialect)).where(
        TASKS.c.user_id == bindparam("user_id"), TASKS.c.deleted_at.is_not(None)
    )
    if after:
        keys = tuple_(TASKS.c.deleted_at, TASKS.c.id)
        bound = tuple_(
            bindparam("cursor_0", type_=TASKS.c.deleted_at.type),
            bindparam("cursor_1", type_=TASKS.c.id.type),
        )
        statement = statement.where(keys < bound)
    return statement.order_by(TASKS.c.deleted_at.desc(), TASKS.c.id.desc()).limit(
        bindparam("page_limit")
    )


def _cursor_values(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor, _TRASH_FINGERPRINT)
    try:
        deleted_at, task_id = values
        moment = datetime.fromisoformat(deleted_at)
        if moment.tzinfo is None:
            raise InvalidCursor
        return moment, uuid.UUID(task_id)
    except (TypeError, ValueError) as exc:
        raise InvalidCursor from exc


def list_trash(
    *, session: Session, user_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[tuple[TaskView, datetime]], str | None]:
    """One page of the user's trash, most recently deleted first (keyset on deleted_at, id)."""
    params: dict[str, Any] = {"user_id": user_id, "page_limit": limit + 1}
    if cursor is not None:
        params["cursor_0"], params["cursor_1"] = _cursor_values(cursor)
    dialect = session.get_bind().dialect.name
    rows = database.run(session, _page_statement(dialect, cursor is not None), params)
    page = [(view_of(row), row[_DELETED_AT]) for row in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last_view, last_deleted = page[-1]
    return page, encode_cursor(
        [last_deleted.isoformat(), str(last_view.task.id)], _TRASH_FINGERPRINT
    )


def restore_task(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> TaskView:
    """Take the task out of the trash with the subtasks that went with it, back into its list
    (a deleted list's tasks were moved to the Inbox when it went) and under its parent, unless
    the parent is in the trash or gone (then it comes back as a top-level task). TaskNotFound
    if it is not in the user's trash. One transaction. Announced to webhooks as
    `task.created`: the task exists again."""
    events = outbox.watch(session=session, user_id=user_id)
    database.begin(session)
    try:
        node = task_tree.get_node(session, user_id=user_id, task_id=task_id, lock=True)
        if node is None or node.deleted_at is None:
            raise TaskNotFound
        levels = task_tree.descendant_levels(
            session, user_id=user_id, task_id=task_id, deleted_at=node.deleted_at
        )
        ids = [task_id, *(task for level in levels for task in level)]
        now = utcnow()
        session.execute(
            update(TASKS)
            .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(ids))
            .values(deleted_at=None, updated_at=now, version=TASKS.c.version + 1)
        )
        parent_id = node.parent_id
        if parent_id is not None:
            parent = task_tree.get_node(session, user_id=user_id, task_id=parent_id)
            if parent is None or parent.deleted_at is not None or parent.list_id != node.list_id:
                parent_id = None
                session.execute(
                    update(TASKS)
                    .where(TASKS.c.user_id == user_id, TASKS.c.id == task_id)
                    .values(parent_id=None)
                )
        task_order.keep_place(session, user_id=user_id, task_id=task_id, now=now)
        concerned: list[uuid.UUID | None] = [*ids, node.parent_id]
        if parent_id is not None and not node.completed:
            restored = task_tree.Node(task_id, parent_id, node.list_id, node.completed, None)
            concerned += task_tree.reopen_ancestors(
                session, user_id=user_id, node=restored, now=now
            )
        task_tree.recount(session, user_id=user_id, task_ids=concerned)
        view = get_task_view(session=session, user_id=user_id, task_id=task_id)
        events.created(*view)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return view


_PURGE_ONE = (
    delete(TASKS)
    .where(
        TASKS.c.id == bindparam("task_id"),
        TASKS.c.user_id == bindparam("user_id"),
        TASKS.c.deleted_at.is_not(None),
    )
    .returning(TASKS.c.id)
)
_PURGE_ALL = (
    delete(TASKS)
    .where(TASKS.c.user_id == bindparam("user_id"), TASKS.c.deleted_at.is_not(None))
    .returning(TASKS.c.id)
)
# Older than the cutoff: what the periodic purge deletes, one user at a time.
PURGE_EXPIRED = (
    delete(TASKS)
    .where(TASKS.c.user_id == bindparam("user_id"), TASKS.c.deleted_at < bindparam("cutoff"))
    .returning(TASKS.c.id)
)


def purge_task(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Delete a trashed task for good (its tag links go with it)."""
    rows = database.run(session, _PURGE_ONE, {"task_id": task_id, "user_id": user_id})
    database.commit(session)
    if not rows:
        raise TaskNotFound


def empty_trash(*, session: Session, user_id: uuid.UUID) -> int:
    """Delete every trashed task of the user for good; how many went."""
    rows = database.run(session, _PURGE_ALL, {"user_id": user_id})
    database.commit(session)
    return len(rows)

"""Manual order: where a moved task goes among its new siblings (same list, same parent).

The key comes from the neighbours it is moved between (app.core.ordering), so a move writes
the moved task's row alone. Two moves in one group at once must not read the same neighbours
and compute the same key: on PostgreSQL a move first takes a transaction-level advisory lock
per user (`lock_order`), on SQLite every write transaction holds the database's write lock
from its start (BEGIN IMMEDIATE). Everything here runs in the caller's transaction, scoped by
user_id.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, or_, select, text, tuple_, update
from sqlmodel import Session, col

from app.core.errors import InvalidField
from app.core.ordering import creation_key, key_between, keys_between
from app.models.task import TASKS
from app.models.task_list import TaskList

# (session, the list, the parent it moves under) -> its position there
Placement = Callable[[Session, uuid.UUID, uuid.UUID | None], str]


class _Sibling(NamedTuple):
    position: str
    id: uuid.UUID


def lock_order(session: Session, *, user_id: uuid.UUID) -> None:
    """Serialise the user's moves until the transaction ends (PostgreSQL; SQLite's write
    transactions are serial already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"task-order:{user_id}"},
        )


def _group(
    user_id: uuid.UUID, list_id: uuid.UUID, parent_id: uuid.UUID | None, task_id: uuid.UUID
) -> list[Any]:
    """The live siblings of a task placed under (list_id, parent_id), the task itself left out."""
    parent = TASKS.c.parent_id.is_(None) if parent_id is None else TASKS.c.parent_id == parent_id
    return [
        TASKS.c.user_id == user_id,
        TASKS.c.list_id == list_id,
        parent,
        TASKS.c.deleted_at.is_(None),
        TASKS.c.id != task_id,
    ]


def _nearest(
    session: Session, group: list[Any], anchor: _Sibling, *, below: bool
) -> _Sibling | None:
    """The sibling just before (below=True) or just after the anchor, in (position, id) order."""
    key = tuple_(TASKS.c.position, TASKS.c.id)
    bound = tuple_(*anchor)
    statement = select(TASKS.c.position, TASKS.c.id).where(*group)
    if below:
        statement = statement.where(key < bound).order_by(
            TASKS.c.position.desc(), TASKS.c.id.desc()
        )
    else:
        statement = statement.where(key > bound).order_by(TASKS.c.position, TASKS.c.id)
    row = session.execute(statement.limit(1)).first()
    return _Sibling(*row) if row is not None else None


def _untie(session: Session, group: list[Any], position: str) -> None:
    """Give the siblings that share `position` keys of their own, in their current order,
    between the keys around them. Only rows written outside the API (or a list's tasks moved
    into another list) can share one; never needed on a move's usual path."""
    tied = session.execute(
        select(TASKS.c.id).where(*group, TASKS.c.position == position).order_by(TASKS.c.id)
    ).scalars()
    ids = list(tied)
    above = session.execute(
        select(func.min(TASKS.c.position)).where(*group, TASKS.c.position > position)
    ).scalar()
    keys = keys_between(position, above, len(ids) - 1)
    # The first keeps its key; the others follow it, in id order as before.
    for task_id, key in zip(ids[1:], keys, strict=True):
        session.execute(update(TASKS).where(*group[:4], TASKS.c.id == task_id).values(position=key))


def placement(
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    before: uuid.UUID | None,
    after: uuid.UUID | None,
) -> Placement:
    """The key of the task right after `after` and right before `before` (a sibling each, in
    the group it moves to), or at the end of that group when neither is given. A neighbour
    that is not such a sibling is a 422 naming `before` or `after`."""

    def place(session: Session, list_id: uuid.UUID, parent_id: uuid.UUID | None) -> str:
        group = _group(user_id, list_id, parent_id, task_id)
        if before is None and after is None:
            last = session.execute(
                select(TASKS.c.position)
                .where(*group)
                .order_by(TASKS.c.position.desc(), TASKS.c.id.desc())
                .limit(1)
            ).scalar()
            return key_between(last, None)
        anchors = {
            row.id: _Sibling(row.position, row.id)
            for row in session.execute(
                select(TASKS.c.position, TASKS.c.id).where(
                    *group, TASKS.c.id.in_([ref for ref in (before, after) if ref is not None])
                )
            )
        }
        for name, ref in (("before", before), ("after", after)):
            if ref is not None and ref not in anchors:
                raise InvalidField(name, "not a task among the siblings it moves to")
        upper = anchors[before] if before is not None else None
        lower = anchors[after] if after is not None else None
        if lower is not None and upper is not None and lower >= upper:
            raise InvalidField("before", "must come after `after` in the order")
        if lower is None and upper is not None:
            lower = _nearest(session, group, upper, below=True)
        elif upper is None and lower is not None:
            upper = _nearest(session, group, lower, below=False)
        if lower is not None and upper is not None and lower.position == upper.position:
            _untie(session, group, lower.position)
            return place(session, list_id, parent_id)
        return key_between(
            lower.position if lower is not None else None,
            upper.position if upper is not None else None,
        )

    return place


def check_list(session: Session, *, user_id: uuid.UUID, list_id: uuid.UUID) -> None:
    """A list the user does not have is a 422 naming list_id."""
    found = session.execute(
        select(exists().where(col(TaskList.id) == list_id, col(TaskList.user_id) == user_id))
    ).scalar()
    if not found:
        raise InvalidField("list_id", "no such list")


def keep_place(session: Session, *, user_id: uuid.UUID, task_id: uuid.UUID, now: datetime) -> None:
    """A task back among siblings (restored from the trash) keeps its key unless a sibling
    took the same key meanwhile; then it goes to the end of the group."""
    sibling = TASKS.alias("sibling")
    taken = exists().where(
        sibling.c.user_id == TASKS.c.user_id,
        sibling.c.list_id == TASKS.c.list_id,
        or_(
            sibling.c.parent_id == TASKS.c.parent_id,
            and_(sibling.c.parent_id.is_(None), TASKS.c.parent_id.is_(None)),
        ),
        sibling.c.position == TASKS.c.position,
        sibling.c.deleted_at.is_(None),
        sibling.c.id != TASKS.c.id,
    )
    session.execute(
        update(TASKS)
        .where(TASKS.c.user_id == user_id, TASKS.c.id == task_id, taken)
        .values(position=creation_key(task_id, now))
    )

"""A task's version as If-Match uses it: the condition a write carries, and why a conditional
write matched nothing (the task is missing, or at another version)."""

import uuid
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Integer, bindparam, select
from sqlmodel import Session

from app import database
from app.core.errors import PreconditionFailed, TaskNotFound
from app.core.etags import Expected
from app.models.task import TASKS


def versions_condition(count: int) -> ColumnElement[bool]:
    """`version = :expected_0` (or `IN` a few): the If-Match check, for a statement's WHERE."""
    params = [bindparam(f"expected_{i}", type_=Integer) for i in range(count)]
    if count == 1:
        return TASKS.c.version == params[0]
    return TASKS.c.version.in_(params)


def versions_params(expected: Expected) -> dict[str, Any]:
    return {f"expected_{i}": version for i, version in enumerate(expected or ())}


# A task in the trash has no version to match: it is missing (404) for every route but the
# trash's.
_VERSION = select(TASKS.c.version).where(
    TASKS.c.id == bindparam("task_id"),
    TASKS.c.user_id == bindparam("user_id"),
    TASKS.c.deleted_at.is_(None),
)


def current_version(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> int | None:
    rows = database.run(session, _VERSION, {"task_id": task_id, "user_id": user_id}, prepare=True)
    return int(rows[0][0]) if rows else None


def fail_missing_or_stale(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> NoReturn:
    """After a conditional write matched nothing: 404 for a missing task (or another user's),
    else 412 with the version that is current now. Only failures pay for this read."""
    version = current_version(session=session, user_id=user_id, task_id=task_id)
    if version is None:
        raise TaskNotFound
    raise PreconditionFailed(version)

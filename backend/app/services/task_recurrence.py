"""The recurrence fields of a task as create, PATCH and PUT write them (issue 19).

services.tasks calls these few functions, so its statements stay as they were; completing,
skipping and previewing live in services.completions.
"""

import uuid
from typing import Any

from sqlalchemy import and_, bindparam, case, select
from sqlmodel import Session

from app import database
from app.core.errors import InvalidField, TaskNotFound
from app.models.task import TASKS
from app.schemas.recurrence import RecurrenceBasis
from app.schemas.task import CompatTaskCreate, CompatTaskUpdate

NEEDS_DUE = "a recurring task needs a due"
# The series restarts when its due or its rule is set: no occurrence done, and the time of
# day is again the due's own.
RESTART = {"recurrence_done": 0, "recurrence_time": None}


def check_new(task_in: CompatTaskCreate) -> None:
    """422 naming `recurrence` for a recurrence without a due (create and PUT)."""
    if task_in.recurrence is not None and task_in.due is None:
        raise InvalidField("recurrence", NEEDS_DUE)


def new_values(task_in: CompatTaskCreate) -> dict[str, Any]:
    """The recurrence columns of a task created or replaced."""
    return {
        "recurrence": task_in.recurrence,
        "recurrence_basis": str(task_in.recurrence_basis),
        **RESTART,
    }


def update_values(changes: dict[str, Any]) -> dict[str, Any]:
    """The recurrence columns a PATCH sets, taking its recurrence fields out of `changes`.
    Setting the due or the rule restarts the series (unless it is set to what it was; see
    keep_series_if_unchanged)."""
    values: dict[str, Any] = {}
    if "recurrence" in changes:
        values["recurrence"] = changes.pop("recurrence")
    if "recurrence_basis" in changes:
        values["recurrence_basis"] = str(RecurrenceBasis(changes.pop("recurrence_basis")))
    if "recurrence" in values or "due" in changes:
        values.update(RESTART)
    return values


def keep_series_if_unchanged(values: dict[str, Any]) -> dict[str, Any]:
    """SET expressions that keep `recurrence_done` and `recurrence_time` when the due and the
    rule are written with the values they have (a client sending back the task it read):
    only a real change restarts the series. `values` are the UPDATE's bound values by column;
    SET sees the old row."""
    same = [
        TASKS.c[name].is_not_distinct_from(values[name])
        for name in ("due_sort", "recurrence")
        if name in values
    ]
    if not same:
        return {}
    unchanged = and_(*same)
    return {
        name: case((unchanged, TASKS.c[name]), else_=values[name])
        for name in RESTART
        if name in values
    }


_DUE_AND_RULE = select(TASKS.c.due_sort, TASKS.c.recurrence).where(
    TASKS.c.id == bindparam("task_id"), TASKS.c.user_id == bindparam("user_id")
)


def check_update(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, task_in: CompatTaskUpdate
) -> None:
    """422 for a PATCH that would leave a recurrence without a due. Reads the task only when
    the body alone cannot tell: a rule without a due, or a due cleared without the rule."""
    sent = task_in.model_fields_set
    rule_set = "recurrence" in sent and task_in.recurrence is not None
    due_cleared = "due" in sent and task_in.due is None
    if rule_set and (
        due_cleared or ("due" not in sent and _stored(session, user_id, task_id)[0] is None)
    ):
        raise InvalidField("recurrence", NEEDS_DUE)
    if (
        due_cleared
        and "recurrence" not in sent
        and _stored(session, user_id, task_id)[1] is not None
    ):
        raise InvalidField("due", NEEDS_DUE + "; send `recurrence: null` to stop it")


def _stored(session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> tuple[Any, Any]:
    rows = database.run(session, _DUE_AND_RULE, {"task_id": task_id, "user_id": user_id})
    if not rows:
        raise TaskNotFound
    return rows[0][0], rows[0][1]

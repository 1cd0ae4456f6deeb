"""Agenda views that the listing's filters cannot express: what is due today in the user's
time zone (open tasks with today's all-day date, or a moment within today's local hours)."""

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from app.models.base import utcnow
from app.models.task import TASKS
from app.services.task_filters import due_today_condition
from app.services.tasks import _SHOWN, TaskView, _tag_names_column, _view

MAX_AGENDA_ITEMS = 100


def due_today(
    *,
    session: Session,
    user_id: uuid.UUID,
    zone: str,
    now: datetime | None = None,
    limit: int = MAX_AGENDA_ITEMS,
) -> list[TaskView]:
    """The user's open tasks due today where they live, soonest first (all-day ones first),
    at most `limit`: the same rule as `due_today` in the stats."""
    dialect = session.get_bind().dialect.name
    statement = (
        select(*_SHOWN, _tag_names_column(dialect))
        .where(TASKS.c.user_id == bindparam("user_id"), due_today_condition(zone, now or utcnow()))
        .order_by(TASKS.c.due_sort, TASKS.c.id)
        .limit(limit)
    )
    # Not database.run: the day's bounds are part of this statement, which is built anew per
    # call and so would only churn that function's cache of compiled statements.
    return [_view(row) for row in session.execute(statement, {"user_id": user_id})]

"""Fire due reminders, each exactly once, however many schedulers run.

A pass claims a batch of due reminders and marks them in one short transaction:

- PostgreSQL: `SELECT ... FOR UPDATE OF reminders SKIP LOCKED`, then `UPDATE ... SET
  fired_at`. A second scheduler's claim skips the rows the first holds, and once the first
  commits, PostgreSQL re-checks `fired_at IS NULL` on the new row versions, so none is claimed
  twice. The transaction sets `app.jobs = 'reminders'`, which the row-level security policies
  of migration 0012 let read and update reminders (and read tasks) across users.
- SQLite: the transaction starts with BEGIN IMMEDIATE, SQLite's one write lock, so passes in
  any number of threads or processes run one after the other.

A reminder more than `grace` late when claimed (the server was down) is marked `missed`
instead of fired. Firing emits the `reminder.fired` event (app.core.events) in the same
transaction, so whatever delivery subscribes stores it exactly when `fired_at` commits.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, select, text, update

from app.core import events
from app.database import session_engines
from app.models import Reminder
from app.models.base import utcnow
from app.models.task import TASKS
from app.services import outbox

# reminder.fired goes to the webhooks subscribed to it (issue 21), in the firing transaction.
events.subscribe(outbox.queue_event)

logger = logging.getLogger("app.jobs.reminders")

REMINDERS: Table = Reminder.__table__  # type: ignore[attr-defined]
BATCH_SIZE = 100
# Read by the row-level security policies of migration 0012.
JOB_SETTING = text("SELECT set_config('app.jobs', 'reminders', true)")


@dataclass
class FireResult:
    fired: list[uuid.UUID] = field(default_factory=list)
    missed: list[uuid.UUID] = field(default_factory=list)


_CLAIM = (
    select(
        REMINDERS.c.id,
        REMINDERS.c.user_id,
        REMINDERS.c.task_id,
        REMINDERS.c.fire_at,
        TASKS.c.title,
    )
    .join_from(
        REMINDERS,
        TASKS,
        and_(TASKS.c.id == REMINDERS.c.task_id, TASKS.c.user_id == REMINDERS.c.user_id),
    )
    .where(
        REMINDERS.c.fired_at.is_(None),
        REMINDERS.c.fire_at <= bindparam("now", type_=REMINDERS.c.fire_at.type),
        # A completed task reminds of nothing (if it is reopened, the reminder counts again).
        TASKS.c.completed.is_(False),
        TASKS.c.deleted_at.is_(None),  # a trashed task reminds of nothing
    )
    .order_by(REMINDERS.c.fire_at, REMINDERS.c.id)
    .limit(bindparam("batch"))
    .with_for_update(of=REMINDERS, skip_locked=True)
)


def _mark(connection: Connection, ids: list[uuid.UUID], now: datetime, *, missed: bool) -> None:
    if ids:
        connection.execute(
            update(REMINDERS)
            .where(REMINDERS.c.id.in_(ids), REMINDERS.c.fired_at.is_(None))
            .values(fired_at=now, missed=missed)
        )


def fire_batch(
    engine: Engine, *, grace: timedelta, now: datetime | None = None, batch: int = BATCH_SIZE
) -> FireResult:
    """One claim: at most `batch` due reminders fired (or marked missed), committed."""
    now = now or utcnow()
    result = FireResult()
    with session_engines(engine).write.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(JOB_SETTING)
        rows = connection.execute(_CLAIM, {"now": now, "batch": batch}).all()
        fired: list[Any] = []
        for row in rows:
            if now - row.fire_at > grace:
                result.missed.append(row.id)
            else:
                fired.append(row)
                result.fired.append(row.id)
        _mark(connection, result.fired, now, missed=False)
        _mark(connection, result.missed, now, missed=True)
        for row in fired:
            events.emit(
                connection,
                events.Event(
                    type=events.REMINDER_FIRED,
                    user_id=row.user_id,
                    occurred_at=now,
                    data={
                        "reminder_id": str(row.id),
                        "task_id": str(row.task_id),
                        "task_title": row.title,
                        "fire_at": row.fire_at.isoformat(),
                    },
                ),
            )
    if result.missed:
        logger.warning(
            "%d reminder(s) more than %s late were marked missed", len(result.missed), grace
        )
    return result


def fire_due_reminders(
    engine: Engine, *, grace: timedelta, now: datetime | None = None, batch: int = BATCH_SIZE
) -> FireResult:
    """Every reminder due by `now`, batch after batch (each its own transaction)."""
    total = FireResult()
    while True:
        result = fire_batch(engine, grace=grace, now=now, batch=batch)
        total.fired.extend(result.fired)
        total.missed.extend(result.missed)
        if len(result.fired) + len(result.missed) < batch:
            return total

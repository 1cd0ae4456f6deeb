"""Purge tasks that have been in the trash longer than TRASH_RETENTION_DAYS.

Safe with several workers and instances: on PostgreSQL the whole purge is one transaction
that first takes a transaction-level advisory lock with pg_try_advisory_xact_lock; a process
that does not get it skips this round (another is purging), and the lock goes with the
transaction, even if the process dies. Each task is deleted once, with its tag links, or not
at all. Row-level security scopes every statement to one user, so the purge walks the
accounts and acts as each in turn (set_config, transaction-local). On SQLite the purge is
one DELETE in a write transaction; writers queue on SQLite's single write lock.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from app.database import RLS_USER_SETTING, session_engines
from app.models import User
from app.models.base import utcnow
from app.models.task import TASKS

logger = logging.getLogger("app.jobs.purge_trash")

# Any fixed 64-bit number, the same in every process: "the trash purge is running".
ADVISORY_LOCK_KEY = 0x7461736B_70757267  # "taskpurg"


def purge_expired(session: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete every task trashed more than retention_days ago, for all users, in the
    session's transaction (the caller commits); the number deleted (0 when another process
    holds the purge)."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        result = connection.execute(TASKS.delete().where(TASKS.c.deleted_at < cutoff))
        return int(result.rowcount or 0)
    got_lock = connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
    ).scalar_one()
    if not got_lock:
        return 0
    deleted = 0
    for user_id in connection.execute(select(col(User.id))).scalars().all():
        connection.execute(
            text("SELECT set_config(:name, :value, true)"),
            {"name": RLS_USER_SETTING, "value": str(user_id)},
        )
        result = connection.execute(
            TASKS.delete().where(TASKS.c.user_id == user_id, TASKS.c.deleted_at < cutoff)
        )
        deleted += int(result.rowcount or 0)
    return deleted


def run(engine: Engine, *, retention_days: int) -> int:
    """One purge in a write transaction of its own: the job's entry point (and the CLI's)."""
    with Session(session_engines(engine).write) as session, session.begin():
        deleted = purge_expired(session, retention_days=retention_days)
    if deleted:
        logger.info("purged %d task(s) from the trash", deleted)
    return deleted

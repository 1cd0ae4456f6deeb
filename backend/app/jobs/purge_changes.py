"""Forget change feed log rows older than TOMBSTONE_RETENTION_DAYS (plus a day), and event
stream tickets that expired unused.

One short transaction; running it in several processes at once deletes each row once.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.models.base import utcnow
from app.services import changes as change_service
from app.services import event_tickets


def purge_old_changes(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    now = now or utcnow()
    before = change_service.purge_before(now, settings.tombstone_retention_days)
    with Session(engine) as session:
        event_tickets.purge_expired_tickets(session=session, before=now)
    with Session(engine) as session:
        return change_service.purge_old_changes(session=session, before=before)

"""Forget change feed log rows older than TOMBSTONE_RETENTION_DAYS (plus a day).

One short transaction; running it in several processes at once deletes each row once.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.models.base import utcnow
from app.services import changes as change_service


def purge_old_changes(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    before = change_service.purge_before(now or utcnow(), settings.tombstone_retention_days)
    with Session(engine) as session:
        return change_service.purge_old_changes(session=session, before=before)

"""Forget the stored responses of Idempotency-Key requests older than IDEMPOTENCY_TTL_HOURS."""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.models.base import utcnow
from app.services import idempotency as idempotency_service


def purge_expired_keys(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """One short transaction; running it twice at once deletes each key once."""
    before = idempotency_service.expiry(now or utcnow(), settings.idempotency_ttl_hours)
    with Session(engine) as session:
        return idempotency_service.purge_expired_keys(session=session, before=before)

"""Idempotency keys: the stored response of a POST, per user and key, written in the same
transaction as the write it answers.

A request with a key runs as one transaction (database.one_transaction) that first takes the
key: on PostgreSQL a transaction-scoped advisory lock on (user, key), which a concurrent
request with the same key fails to get (409) and which a crash releases with the transaction;
on SQLite the write transaction's own lock (BEGIN IMMEDIATE), which serializes writers anyway.
Holding the key, it looks for a stored response: a replay if the request is the same, 422 if
not. Otherwise the write runs and record() stores its response before the one COMMIT, so a
response the client may have seen is never lost, and nothing is stored for one that failed.
"""

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select, text
from sqlmodel import Session, col

from app.core.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from app.models import IdempotencyKey

# Only the purge sets it (see migration 0013): it may then delete keys older than this.
PURGE_SETTING = "app.purge_before"


class StoredResponse(NamedTuple):
    status_code: int
    body: bytes
    location: str | None
    etag: str | None


def _lock_id(user_id: uuid.UUID, key: str) -> int:
    digest = hashlib.sha256(user_id.bytes + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim_key(
    *,
    session: Session,
    user_id: uuid.UUID,
    key: str,
    fingerprint: str,
    not_before: datetime,
) -> StoredResponse | None:
    """Take the key inside the session's transaction; the response stored for it by an
    earlier request (the same one), or None: then write and record(). Keys stored before
    `not_before` have expired and are forgotten here."""
    if session.get_bind().dialect.name == "postgresql":
        locked = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:lock_id)"),
            {"lock_id": _lock_id(user_id, key)},
        ).scalar_one()
        if not locked:
            raise IdempotencyKeyInProgress
    row = session.execute(
        select(
            col(IdempotencyKey.fingerprint),
            col(IdempotencyKey.created_at),
            col(IdempotencyKey.status_code),
            col(IdempotencyKey.body),
            col(IdempotencyKey.location),
            col(IdempotencyKey.etag),
        ).where(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
    ).first()
    if row is None:
        return None
    stored_fingerprint, created_at, status_code, body, location, etag = row
    if created_at < not_before:
        session.execute(
            delete(IdempotencyKey).where(
                col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
            )
        )
        return None
    if stored_fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return StoredResponse(status_code, bytes(body), location, etag)


def record(
    *,
    session: Session,
    user_id: uuid.UUID,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    now: datetime,
) -> None:
    """Store the response in the session's transaction (the caller commits it with the write)."""
    session.execute(
        insert(IdempotencyKey).values(
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            status_code=response.status_code,
            body=response.body,
            location=response.location,
            etag=response.etag,
            created_at=now,
        )
    )


def purge_expired_keys(*, session: Session, before: datetime) -> int:
    """Delete every user's keys stored before `before`, in one transaction; how many."""
    with session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Row-level security lets the purge see expired keys only, and only with this set.
            session.execute(select(func.set_config(PURGE_SETTING, before.isoformat(), True)))
        result = session.execute(
            delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < before)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def expiry(now: datetime, ttl_hours: int) -> datetime:
    """The oldest a stored response may be and still be replayed."""
    return now - timedelta(hours=ttl_hours)

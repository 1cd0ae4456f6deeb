import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, SmallInteger, Text
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime


class IdempotencyKey(SQLModel, table=True):
    """The response to a POST sent with an `Idempotency-Key`, kept so that a retry with the
    same key gets it again instead of a second write (draft-ietf-httpapi-idempotency-key-header).

    Written in the same transaction as the write it answers: a row exists only for a request
    that committed, so there is no in-progress row to leave behind. A request still running
    holds its key in the database instead (services.idempotency).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        # The purge: every key older than the TTL, whoever's.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    # Keys are the client's, so they are scoped to the user: two users may pick the same one.
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    key: str = Field(max_length=255, primary_key=True)
    # SHA-256 of the method, the path and the request body as parsed (hex).
    fingerprint: str = Field(max_length=64)
    status_code: int = Field(sa_column=Column(SmallInteger, nullable=False))
    location: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    etag: str | None = Field(default=None, max_length=100)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

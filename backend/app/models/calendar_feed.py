import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Column, Field, ForeignKey, SQLModel, String, Uuid

from app.models.base import UTCDateTime, utcnow


class CalendarFeed(SQLModel, table=True):
    """A secret calendar feed URL (`/calendar/{token}.ics`): only the token's SHA-256 is kept,
    with its last four characters so its owner can tell feeds apart. Revoking deletes it."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        # The owner's listing, newest first.
        Index("ix_calendar_feeds_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    last_four: str = Field(max_length=4)
    # `todo` (VTODO) or `events` (VEVENT), when the URL does not say `?as=`.
    flavour: str = Field(sa_column=Column(String(10), nullable=False))
    # Only tasks of these lists (ids as text) / carrying any of these tags (names); empty: all.
    list_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

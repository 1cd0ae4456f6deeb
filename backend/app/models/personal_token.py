import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class PersonalToken(SQLModel, table=True):
    """A personal access token: only its SHA-256 is kept, with its last four characters so
    its owner can tell tokens apart."""

    __tablename__ = "personal_tokens"
    __table_args__ = (
        # The owner's listing, newest first.
        Index("ix_personal_tokens_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=100)
    # Space-separated scope names (app.core.scopes).
    scopes: str = Field(max_length=255)
    token_hash: str = Field(max_length=64, unique=True)
    last_four: str = Field(max_length=4)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # Written at most once a minute per token (core.personal_tokens).
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))

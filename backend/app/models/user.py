import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # A provider user is (issuer, sub). Local accounts leave both NULL, and NULLs never
        # collide in a unique constraint on either database.
        UniqueConstraint("auth_issuer", "auth_subject"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Stored lower-cased so the unique index is case-insensitive on both databases.
    # NULL only for provider users whose token carries no verified, unused address.
    email: str | None = Field(default=None, max_length=320, unique=True)
    name: str | None = Field(default=None, max_length=100)
    # NULL for provider users: they cannot log in with a password.
    hashed_password: str | None = Field(default=None, max_length=255)
    # Bumped to invalidate every access token minted before (password change, logout-all).
    token_version: int = Field(default=0)
    auth_issuer: str | None = Field(default=None, max_length=255)
    auth_subject: str | None = Field(default=None, max_length=255)
    # IANA zone name; decides "today" and "overdue" for all-day due dates.
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

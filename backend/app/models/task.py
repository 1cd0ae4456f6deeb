import uuid
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # Serves the default listing: one user's tasks, newest first, keyset on (created_at, id).
        Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed: bool = Field(default=False)
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

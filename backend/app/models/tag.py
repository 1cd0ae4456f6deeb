import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, UniqueConstraint, text
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (
        # One tag per name per user, case-insensitively: the first spelling wins.
        UniqueConstraint("user_id", "name_key"),
        UniqueConstraint("id", "user_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=50)
    # name.casefold(); casefolding can lengthen a string ("ß" -> "ss"), hence the room.
    name_key: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # 1 when created, plus one for every rename (If-Match compares with it, like a task's).
    version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )


class TaskTag(SQLModel, table=True):
    """A tag on a task. Both foreign keys include user_id, so the database itself refuses a
    link between one user's task and another user's tag."""

    __tablename__ = "task_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tag_id", "user_id"], ["tags.id", "tags.user_id"], ondelete="CASCADE"
        ),
        # The tag filter and tag deletion go from the tag to its tasks.
        Index("ix_task_tags_tag_id_task_id", "tag_id", "task_id"),
    )

    task_id: uuid.UUID = Field(primary_key=True)
    tag_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID

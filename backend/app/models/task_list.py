import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, UniqueConstraint, text
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class TaskList(SQLModel, table=True):
    """A list of tasks (a project). Every account has exactly one Inbox."""

    __tablename__ = "lists"
    __table_args__ = (
        # One list per name per user, case-insensitively (like tags).
        UniqueConstraint("user_id", "name_key"),
        # The target of tasks' composite foreign key: a task carries its list's owner.
        UniqueConstraint("id", "user_id"),
        # At most one Inbox per user, enforced by the database on both engines.
        Index(
            "ix_lists_user_id_inbox",
            "user_id",
            unique=True,
            sqlite_where=text("inbox"),
            postgresql_where=text("inbox"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=100)
    # name.casefold(); casefolding can lengthen a string ("ß" -> "ss"), hence the room.
    name_key: str = Field(max_length=400)
    color: str | None = Field(default=None, max_length=7)
    position: int = Field(default=0)
    archived: bool = Field(default=False)
    inbox: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # 1 when created, plus one for every change (If-Match compares with it, like a task's).
    version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )

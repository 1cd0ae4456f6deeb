import uuid
from datetime import date, datetime, time
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.core.ordering import creation_key
from app.models.base import UTCDateTime, utcnow

POSITION_TYPE = Text().with_variant(Text(collation="C"), "postgresql")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # Serves the default listing: one user's tasks, newest first, keyset on (created_at, id).
        Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),
        # Serves `sort=due` and the due-date filters; NULLs sort last, like the API.
        Index("ix_tasks_user_id_due_sort_id", "user_id", "due_sort", "id"),
        # The target of task_tags' composite foreign key: a tag link carries the task's owner.
        UniqueConstraint("id", "user_id"),
        CheckConstraint("priority BETWEEN 0 AND 3", name="priority_range"),
        CheckConstraint("due_date IS NULL OR due_at IS NULL", name="one_due_kind"),
        # The list is one of the task's owner's lists: the database refuses any other.
        # No cascade: a list is emptied (its tasks moved or trashed) before it is deleted.
        ForeignKeyConstraint(["list_id", "user_id"], ["lists.id", "lists.user_id"]),
        # Serves `?list=`: one list's tasks, newest first; and the per-list counts.
        Index("ix_tasks_user_id_list_id_created_at_id", "user_id", "list_id", "created_at", "id"),
        # Serves the trash (newest deletion first) and the purge of old trash.
        Index("ix_tasks_user_id_deleted_at_id", "user_id", "deleted_at", "id"),
        # A subtask's parent is a task of the same owner; deleting a task for good deletes
        # its subtasks (they went to the trash with it, or go with it).
        ForeignKeyConstraint(
            ["parent_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"
        ),
        # Serves `?parent=`, the subtask counts and walking a task's subtree.
        Index(
            "ix_tasks_user_id_parent_id_created_at_id", "user_id", "parent_id", "created_at", "id"
        ),
        # Serves `sort=position` within a list's top level (`?list=&parent=none`) and the
        # neighbours a move reads.
        Index(
            "ix_tasks_user_id_list_id_parent_id_position_id",
            "user_id",
            "list_id",
            "parent_id",
            "position",
            "id",
        ),
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
    # 0 none, 1 low, 2 medium, 3 high: a number so that sorting by priority is plain ORDER BY.
    priority: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    # An all-day due date, with no time zone at all ...
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # ... or a due moment (stored in UTC). At most one of the two is set.
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The one sortable due key: due_at, or 00:00 UTC of due_date. Written with the two above.
    due_sort: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    list_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    # Set when the task went to the trash; every route but the trash's ignores such a task.
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # 1 when created, plus one for every write to the task (fields, completion, tags), in the
    # same UPDATE: the strong ETag and what If-Match compares with (issue 17).
    version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    # Recurrence (issue 19; app.core.recurrence says what each holds). The canonical RRULE,
    # or NULL for a task that does not recur; a recurring task always has a due.
    recurrence: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    # `due` or `completion`: what the next due follows.
    recurrence_basis: str = Field(
        default="due", sa_column=Column(String(10), nullable=False, server_default="due")
    )
    # Occurrences completed or skipped before the current due (for COUNT); 0 when the due or
    # the rule is set by hand.
    recurrence_done: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # A timed series' wall time of day in the user's zone, kept once the task first advanced
    # (a DST gap may have moved one due); NULL: the current due's own wall time.
    recurrence_time: time | None = Field(default=None, sa_column=Column(Time, nullable=True))
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # Kept by the services (services.task_tree.recount) in the transaction that changes a
    # subtree: the subtasks not in the trash, and those of them not completed.
    # (A server default too: rows written by plain SQL, like bulk seeds, start with none.)
    subtask_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    open_subtask_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The manual order among its siblings (same list, same parent): a fractional-index key
    # (app.core.ordering), compared byte by byte ("C" collation on PostgreSQL, SQLite's
    # default BINARY), ties broken by id.
    # (The services write it; the default is for a Task made through the ORM: the end.)
    position: str = Field(
        default_factory=lambda: creation_key(uuid.uuid4(), utcnow()),
        sa_column=Column(POSITION_TYPE, nullable=False),
    )


# The table behind Task, for SQLAlchemy Core statements on the hot paths.
TASKS = cast(Table, Task.__table__)  # type: ignore[attr-defined]

import datetime as dt
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    String,
    Time,
)
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class Reminder(SQLModel, table=True):
    """A reminder of a task: at an absolute moment (`at`), or `before` its due (an ISO 8601
    duration, counted from `time` of day in the user's zone for an all-day due).

    `fire_at` is when it fires next, kept by the API (a relative reminder follows the due);
    NULL while a relative reminder's task has no due. The scheduler sets `fired_at` when it
    fires it, or when it gives up on one found too late (`missed`)."""

    __tablename__ = "reminders"
    __table_args__ = (
        # The task carries the same owner: one user's reminder cannot point at another's task.
        ForeignKeyConstraint(
            ["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"
        ),
        CheckConstraint("(at IS NULL) <> (before IS NULL)", name="at_or_before"),
        # A task's reminders, in order (the CRUD listing and the per-task limit).
        Index("ix_reminders_task_id_user_id_created_at", "task_id", "user_id", "created_at"),
        # The scheduler's claim: unfired reminders by time.
        Index("ix_reminders_fired_at_fire_at", "fired_at", "fire_at"),
        # GET /reminders/upcoming: one user's reminders by time.
        Index("ix_reminders_user_id_fire_at", "user_id", "fire_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    task_id: uuid.UUID
    at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    before: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    time: dt.time | None = Field(default=None, sa_column=Column(Time, nullable=True))
    fire_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    missed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class TaskCompletion(SQLModel, table=True):
    """One completed occurrence of a recurring task: the due it had, and when it was done."""

    __tablename__ = "task_completions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"
        ),
        CheckConstraint("due_date IS NULL OR due_at IS NULL", name="one_due_kind"),
        # A task's completions, newest first.
        Index(
            "ix_task_completions_task_id_user_id_completed_at", "task_id", "user_id", "completed_at"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    task_id: uuid.UUID
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    completed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

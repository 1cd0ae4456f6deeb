import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class ImportRecord(SQLModel, table=True):
    """A task that an import created, by where it came from: importing the same file again
    finds the external id here and skips the task instead of creating it twice.

    `source` is the import format (`json`, `csv`, `ics`, `todoist`); `external_id` is what
    identifies the task in that source (our export's id, a UID, or a digest of a Todoist row
    and its place). No foreign key to the task: the record outlives a task deleted since, so
    a deleted task is not brought back by importing the old file again."""

    __tablename__ = "import_records"
    __table_args__ = (UniqueConstraint("user_id", "source", "external_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    source: str = Field(max_length=20)
    external_id: str = Field(max_length=255)
    task_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

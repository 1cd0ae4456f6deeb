"""Response bodies of /api/v1/trash."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.task import TaskPublic
from app.schemas.task_query import Cursor


class TrashedTask(TaskPublic):
    deleted_at: datetime = Field(
        description="When the task went to the trash; it is purged TRASH_RETENTION_DAYS later."
    )


class TrashPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "next_cursor": None}]})

    items: list[TrashedTask] = Field(description="Most recently deleted first.")
    next_cursor: Cursor | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )

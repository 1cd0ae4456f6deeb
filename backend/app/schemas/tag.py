import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import StrictInput
from app.schemas.values import TagName


class TagUpdate(StrictInput):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Work"}]})

    name: TagName = Field(
        description="At most 50 characters as sent, at least 1 after trimming; must not "
        "match another of your tags "
        "case-insensitively (409)."
    )


class TagPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f2a8e-2f5d-4c0e-9a51-6c1d2e3f4a5b",
                    "name": "work",
                    "open_tasks": 3,
                    "total_tasks": 4,
                    "created_at": "2026-11-24T09:30:00Z",
                    "version": 1,
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    open_tasks: int = Field(description="Tasks with this tag that are not completed.")
    total_tasks: int = Field(description="All tasks with this tag.")
    created_at: datetime
    version: int = Field(
        ge=1,
        description="1 when created, one more after every rename. Send it in `If-Match` (in "
        "quotes) to rename or delete only the tag you read.",
    )

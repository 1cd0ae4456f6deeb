"""Response bodies of /api/v1/changes and the data of /api/v1/events."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import opaque
from app.schemas.task import TaskPublic

# A feed cursor is about 120 characters; the room is for later additions.
MAX_FEED_CURSOR_LENGTH = 512
FeedCursor = Annotated[str, opaque(MAX_FEED_CURSOR_LENGTH)]
Kind = Literal["task", "list", "tag"]


class FeedList(BaseModel):
    """A list as the feed shows it: ListPublic without the task counts (they change with
    every task, which is no change of the list)."""

    id: uuid.UUID
    name: str
    color: str | None
    position: int
    archived: bool
    inbox: bool
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1, description="As ListPublic's.")


class FeedTag(BaseModel):
    """A tag as the feed shows it: TagPublic without the task counts."""

    id: uuid.UUID
    name: str
    created_at: datetime
    version: int = Field(ge=1, description="As TagPublic's.")


class ChangedObject(BaseModel):
    """An object created or changed (or restored from the trash): its state now."""

    type: Literal["object"]
    kind: Kind
    id: uuid.UUID
    version: int = Field(
        ge=1,
        description="The object's version (its ETag, what If-Match compares with): a task's, "
        "a list's or a tag's.",
    )
    data: TaskPublic | FeedList | FeedTag = Field(
        description="The object as it is now: a task as the tasks routes show it, a list or "
        "a tag without their task counts."
    )


class Tombstone(BaseModel):
    """An object deleted, moved to the trash or purged: forget it."""

    type: Literal["tombstone"]
    kind: Kind
    id: uuid.UUID
    deleted_at: datetime


FeedEntry = Annotated[ChangedObject | Tombstone, Field(discriminator="type")]


class ChangePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changes": [
                        {
                            "type": "tombstone",
                            "kind": "task",
                            "id": "0b1e6a52-5a8e-4b8e-a0e4-2a7c1f6d9b10",
                            "deleted_at": "2026-11-29T10:00:00Z",
                        }
                    ],
                    "cursor": "eyJ2IjoxfQ",
                    "has_more": False,
                    "reset": False,
                }
            ]
        }
    )

    changes: list[FeedEntry] = Field(
        description="Oldest change first; each object at most once per page."
    )
    cursor: FeedCursor = Field(description="Pass as `since` to get what comes next.")
    has_more: bool = Field(description="True: ask again at once with `cursor`.")
    reset: bool = Field(
        description="True on the first page of a snapshot (a request without `since`): "
        "replace what you kept with the snapshot's pages."
    )


class EventTicket(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket": "Xq3...", "expires_in": 60}]}
    )

    ticket: str = Field(description="Pass as `ticket` to GET /api/v1/events, once.")
    expires_in: int = Field(description="Seconds the ticket is valid.")

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.common import JSON_STRING, Name, StrictInput
from app.schemas.values import TagName, tag_key

MAX_FEED_LISTS = 50
MAX_FEED_TAGS = 20


class CalendarFlavour(StrEnum):
    """`todo`: a VTODO per task (Thunderbird, Apple Reminders, tasks.org); `events`: a VEVENT
    per dated task (Google Calendar, Outlook, Apple Calendar)."""

    todo = "todo"
    events = "events"


_EXAMPLE: dict[str, Any] = {
    "id": "8a1f3c2e-4b5d-4e6f-9a7b-1c2d3e4f5a6b",
    "name": "Work tasks",
    "flavour": "events",
    "list_ids": ["3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10"],
    "tags": [],
    "last_four": "Zp9Q",
    "created_at": "2026-11-29T09:30:00Z",
}


class CalendarFeedCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Work tasks",
                    "flavour": "events",
                    "list_ids": ["3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10"],
                }
            ]
        }
    )

    name: Name = Field(default="Tasks", description="The calendar's name in the calendar app.")
    flavour: Annotated[CalendarFlavour, JSON_STRING] = Field(
        default=CalendarFlavour.todo,
        description="What the URL serves unless it says `?as=`: `todo` or `events`.",
    )
    list_ids: Annotated[
        list[Annotated[uuid.UUID, JSON_STRING]],
        Field(max_length=MAX_FEED_LISTS, json_schema_extra={"uniqueItems": True}),
    ] = Field(
        default_factory=list,
        description="Only tasks of these lists (yours; any other id is a 422). Empty: all.",
    )
    tags: Annotated[
        list[TagName], Field(max_length=MAX_FEED_TAGS, json_schema_extra={"uniqueItems": True})
    ] = Field(
        default_factory=list,
        description="Only tasks carrying at least one of these tags (case-insensitive). "
        "Empty: all.",
    )

    @field_validator("list_ids")
    @classmethod
    def _distinct_lists(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("each list may appear once")
        return value

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, value: list[str]) -> list[str]:
        if len({tag_key(name) for name in value}) != len(value):
            raise ValueError("each tag may appear once (names are case-insensitive)")
        return value


class CalendarFeedPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    name: str
    flavour: CalendarFlavour
    list_ids: list[uuid.UUID]
    tags: list[str]
    last_four: str = Field(description="The token's last four characters, to tell feeds apart.")
    created_at: datetime


class CalendarFeedCreated(CalendarFeedPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "url": "https://tasks.example.com/calendar/tcf_5mQ0y8V1c2x3b4n5m6q7w8e9r0t1y2u3i4o5p6aZp9Q.ics",
                }
            ]
        }
    )

    url: str = Field(
        description="The secret feed URL: shown this once, never again. Subscribe to it in "
        "your calendar app; anyone holding it can read the feed's tasks until you revoke it."
    )

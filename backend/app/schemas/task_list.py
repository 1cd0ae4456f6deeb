"""Request and response bodies of /api/v1/lists."""

import uuid
from datetime import datetime
from typing import Annotated

from annotated_types import Interval
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.schemas.common import Name, Pattern, StrictInput, not_nullable

Color = Annotated[str, Pattern(r"^#[0-9A-Fa-f]{6}$", "must be a colour like #1A2B3C")]
MAX_POSITION = 1_000_000


def _whole_number(value: object) -> object:
    # JSON Schema counts 2.0 as an integer, so the contract allows it; strict pydantic would not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Position = Annotated[int, Interval(ge=0, le=MAX_POSITION), BeforeValidator(_whole_number)]

_NAME_HELP = (
    "At most 100 characters as sent, at least 1 after trimming; must not match another of "
    "your lists "
    "case-insensitively (409 naming that list)."
)
_POSITION_HELP = "Where the list sits among your lists: ascending, then by name. 0 to 1,000,000."


class ListCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Work", "color": "#1E88E5", "position": 1}]}
    )

    name: Name = Field(description=_NAME_HELP)
    color: Color | None = Field(default=None, description="`#RRGGBB`, or null for none.")
    position: Position = Field(default=0, description=_POSITION_HELP)
    archived: bool = Field(
        default=False, description="Archived lists and their tasks are hidden by default."
    )


class ListUpdate(StrictInput):
    """PATCH body: only the fields sent change; `color: null` clears the colour."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"archived": True}]})

    name: Name | None = Field(
        default=None, description=f"Cannot be null. {_NAME_HELP}", json_schema_extra=not_nullable
    )
    color: Color | None = Field(default=None, description="`#RRGGBB`; `null` clears it.")
    position: Position | None = Field(
        default=None,
        description=f"Cannot be null. {_POSITION_HELP}",
        json_schema_extra=not_nullable,
    )
    archived: bool | None = Field(
        default=None,
        description="Cannot be null. The Inbox cannot be archived (409).",
        json_schema_extra=not_nullable,
    )

    @field_validator("name", "position", "archived")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only runs for values the client sent, so an explicit null lands here.
        if value is None:
            raise ValueError("cannot be null")
        return value


class ListPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10",
                    "name": "Work",
                    "color": "#1E88E5",
                    "position": 1,
                    "archived": False,
                    "inbox": False,
                    "open_tasks": 3,
                    "total_tasks": 5,
                    "created_at": "2026-11-29T09:30:00Z",
                    "updated_at": "2026-11-29T09:30:00Z",
                    "version": 1,
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    color: str | None
    position: int
    archived: bool
    inbox: bool = Field(description="True for your Inbox, where tasks go by default.")
    open_tasks: int = Field(description="Tasks in this list that are not completed.")
    total_tasks: int = Field(description="All tasks in this list (not those in the trash).")
    created_at: datetime
    updated_at: datetime
    version: int = Field(
        ge=1,
        description="1 when created, one more after every change. The `ETag` header is this "
        "number in quotes; send it in `If-Match` to change or delete only what you read.",
    )

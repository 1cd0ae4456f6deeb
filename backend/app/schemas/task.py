import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import Description, StrictInput, Title

# Fields the API itself sets. A client may send back what it received; they are ignored.
READ_ONLY_FIELDS = frozenset({"id", "completed_at", "created_at", "updated_at"})

_TASK_EXAMPLE: dict[str, Any] = {
    "title": "Send the invoice",
    "description": "PDF to accounts@example.com",
    "completed": False,
}


class _TaskInput(StrictInput):
    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in READ_ONLY_FIELDS}
        return data


class TaskCreate(_TaskInput):
    model_config = ConfigDict(json_schema_extra={"examples": [_TASK_EXAMPLE]})

    title: Title = Field(description="1 to 255 characters after trimming.")
    description: Description | None = Field(default=None, description="Up to 10,000 characters.")
    # Strict: `0`, `"yes"` or `"false"` are not booleans in the contract, so they are a 422.
    completed: StrictBool = False


class TaskReplace(TaskCreate):
    """PUT body: every client field; omitted optional fields are reset to their defaults."""


class TaskUpdate(_TaskInput):
    """PATCH body: only the fields sent change; `description: null` clears it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Send the final invoice"}]})

    # None only means "not sent": the contract shows these as non-nullable, as they are.
    title: Title | SkipJsonSchema[None] = Field(default=None, description="Cannot be null.")
    description: Description | None = None
    completed: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="Cannot be null."
    )

    @field_validator("title", "completed")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only runs for values the client sent, so an explicit null lands here.
        if value is None:
            raise ValueError("cannot be null")
        return value


class TaskPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                    **_TASK_EXAMPLE,
                    "completed_at": None,
                    "created_at": "2026-11-24T09:30:00Z",
                    "updated_at": "2026-11-24T09:30:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "next_cursor": None}]})

    items: list[TaskPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class CompleteRequest(StrictInput):
    """Body of PATCH /api/{user_id}/tasks/{id}/complete: sets the state (an empty body toggles)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"completed": True}]})

    completed: bool

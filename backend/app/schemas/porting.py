"""What an import reads beside the task fields, and what it answers (POST /api/v1/import)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.ordering import is_key
from app.schemas.common import StrictInput
from app.schemas.reminder import TimeOfDay
from app.schemas.values import Due, Moment


class ImportedTaskExtras(StrictInput):
    """Fields of our own export that a task created by the API does not take: kept so that
    an export imported again is the same account."""

    completed_at: Moment | None = None
    created_at: Moment | None = None
    updated_at: Moment | None = None
    recurrence_done: int = Field(default=0, ge=0, le=1_000_000)
    recurrence_time: TimeOfDay | None = None
    # The manual order (app.core.ordering); a malformed key is a problem of the file.
    position: str | None = Field(default=None, min_length=2, max_length=1000)

    @field_validator("position")
    @classmethod
    def _a_key(cls, value: str | None) -> str | None:
        if value is not None and not is_key(value):
            raise ValueError("not a position key of this API's export")
        return value


class ImportedCompletion(StrictInput):
    due: Due | None = None
    completed_at: Moment


class ImportProblem(BaseModel):
    line: int | None = Field(
        description="The line of the file (1 is the first; for CSV the row's first line), or "
        "null where the format has no lines to point at (a JSON item: see `field`)."
    )
    field: str = Field(description="The column, property or item path at fault.")
    reason: str


class ImportCounts(BaseModel):
    lists: int = 0
    tasks: int = 0
    tags: int = 0
    reminders: int = 0
    completions: int = 0


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "todoist",
                    "dry_run": True,
                    "created": {
                        "lists": 1,
                        "tasks": 12,
                        "tags": 2,
                        "reminders": 0,
                        "completions": 0,
                    },
                    "skipped": 0,
                    "warnings": [
                        {"line": 7, "field": "DATE", "reason": "not a date: 'every other day'"}
                    ],
                }
            ]
        }
    )

    format: str
    dry_run: bool = Field(description="`true`: nothing was written; this is what would be.")
    created: ImportCounts = Field(description="What the import created (or would create).")
    skipped: int = Field(
        description="Tasks left out because an earlier import of the same source created them."
    )
    warnings: list[ImportProblem] = Field(
        description="What was read differently from the file (the import goes ahead)."
    )


def problem(line: int | None, field: str, reason: str) -> dict[str, Any]:
    return {"line": line, "field": field, "reason": reason}


# The contract's examples of the files export writes and import reads.
CSV_EXAMPLE = "title,due,priority,tags\r\nPay the rent,2026-12-01,high,home\r\n"
DOCUMENT_EXAMPLE = {
    "format": "tasks-api",
    "version": 1,
    "exported_at": "2026-11-29T10:00:00Z",
    "profile": {"email": "ada@example.com", "name": "Ada", "timezone": "Europe/London"},
    "lists": [
        {
            "id": "3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10",
            "name": "Inbox",
            "color": None,
            "position": 0,
            "archived": False,
            "inbox": True,
            "created_at": "2026-11-24T09:00:00Z",
        }
    ],
    "tags": ["home"],
    "tasks": [
        {
            "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
            "list_id": "3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10",
            "parent_id": None,
            "title": "Pay the rent",
            "description": None,
            "completed": False,
            "completed_at": None,
            "priority": "high",
            "due": "2026-12-01",
            "tags": ["home"],
            "recurrence": "FREQ=MONTHLY",
            "recurrence_basis": "due",
            "recurrence_done": 0,
            "recurrence_time": None,
            "created_at": "2026-11-24T09:30:00Z",
            "updated_at": "2026-11-24T09:30:00Z",
            "reminders": [{"at": None, "before": "P1D", "time": None}],
            "completions": [],
        }
    ],
}
BINARY = {"type": "string", "format": "binary"}
FILE_SCHEMAS = {
    "application/json": {
        "type": "object",
        "description": "An export (specs/2-backend-api/contracts/export-v1.schema.json).",
    }
}
# A CSV or .ics file goes as application/octet-stream (generated clients know no text/csv or
# text/calendar request body); the server reads no Content-Type anyway: `format` says what
# the file is.
FILE_EXAMPLES = {
    "application/octet-stream": CSV_EXAMPLE,
    "application/json": DOCUMENT_EXAMPLE,
}

"""What an import reads beside the task fields, and what it answers (POST /api/v1/import)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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

"""`POST /api/v1/tasks/batch`: several task writes applied in one transaction, all or none."""

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import StrictInput
from app.schemas.task import TaskCreate, TaskPublic, TaskUpdate

MAX_OPERATIONS = 100

# A client's name for a task it creates in the batch; later operations may use it as `id`.
TempId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# A task's id, or the temp_id of a task created earlier in the same batch.
TaskRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(description="A task id, or the `temp_id` of a create earlier in this batch."),
]
IfMatch = Annotated[
    int,
    Field(
        ge=1,
        le=2**31 - 1,
        description="Apply only if the task is at this `version` (else the batch is a 412).",
    ),
]


class CreateOperation(StrictInput):
    op: Literal["create"]
    temp_id: TempId | None = Field(
        default=None, description="Your name for the new task within this batch."
    )
    task: TaskCreate


class UpdateOperation(StrictInput):
    op: Literal["update"]
    id: TaskRef
    if_match: IfMatch | None = None
    changes: TaskUpdate = Field(description="As the body of `PATCH /api/v1/tasks/{id}`.")


class CompleteOperation(StrictInput):
    op: Literal["complete"]
    id: TaskRef
    if_match: IfMatch | None = None


class ReopenOperation(StrictInput):
    op: Literal["reopen"]
    id: TaskRef
    if_match: IfMatch | None = None


class DeleteOperation(StrictInput):
    op: Literal["delete"]
    id: TaskRef
    if_match: IfMatch | None = None


class MoveOperation(StrictInput):
    op: Literal["move"]
    id: TaskRef
    if_match: IfMatch | None = None
    list_id: uuid.UUID | None = Field(default=None, description="As in the move's body.")
    parent_id: TaskRef | None = Field(
        default=None, description="As in the move's body; may be a `temp_id`."
    )
    before: TaskRef | None = Field(
        default=None, description="As in the move's body; may be a `temp_id`."
    )
    after: TaskRef | None = Field(
        default=None, description="As in the move's body; may be a `temp_id`."
    )


BatchOperation = Annotated[
    CreateOperation
    | UpdateOperation
    | CompleteOperation
    | ReopenOperation
    | DeleteOperation
    | MoveOperation,
    Field(discriminator="op"),
]


class BatchRequest(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operations": [
                        {"op": "create", "temp_id": "draft", "task": {"title": "Plan the trip"}},
                        {"op": "update", "id": "draft", "changes": {"priority": "high"}},
                        {
                            "op": "complete",
                            "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                            "if_match": 3,
                        },
                    ]
                }
            ]
        }
    )

    operations: list[BatchOperation] = Field(
        min_length=1,
        max_length=MAX_OPERATIONS,
        description="Applied in order, in one transaction: all succeed or none is written.",
    )


class OperationResult(BaseModel):
    index: int = Field(description="The operation's position in the request, from 0.")
    op: Literal["create", "update", "complete", "reopen", "delete", "move"]
    id: uuid.UUID
    status: int = Field(description="What the single request would have answered: 200, 201, 204.")
    task: TaskPublic | None = Field(description="The task after the operation; null if deleted.")


_TASK_ID = "9b2f4c1e-3d5a-4e8b-a7c6-0f1e2d3c4b5a"


class BatchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "temp_ids": {"draft": _TASK_ID},
                    "results": [
                        {
                            "index": 0,
                            "op": "create",
                            "id": _TASK_ID,
                            "status": 201,
                            "task": {
                                "id": _TASK_ID,
                                "title": "Plan the trip",
                                "description": None,
                                "completed": False,
                                "completed_at": None,
                                "priority": "none",
                                "due": None,
                                "tags": [],
                                "created_at": "2026-11-24T09:30:00Z",
                                "updated_at": "2026-11-24T09:30:00Z",
                                "version": 1,
                            },
                        },
                        {
                            "index": 1,
                            "op": "delete",
                            "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                            "status": 204,
                            "task": None,
                        },
                    ],
                }
            ]
        }
    )

    temp_ids: dict[str, uuid.UUID] = Field(description="Each `temp_id` and the id it became.")
    results: list[OperationResult]

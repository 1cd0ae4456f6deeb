import uuid
from datetime import date, datetime
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.schemas.common import JSON_STRING, Description, StrictInput, Title, not_nullable
from app.schemas.recurrence import (
    BASIS_HELP,
    RECURRENCE_EXAMPLES,
    RECURRENCE_HELP,
    Recurrence,
    RecurrenceBasis,
    RecurrenceBasisName,
)
from app.schemas.task_query import Cursor
from app.schemas.values import DUE_EXAMPLES, Due, Priority, PriorityName, TagName, tag_key

MAX_TAGS_PER_TASK = 20

# Fields the API itself sets. A client may send back what it received; they are ignored.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "completed_at",
        "created_at",
        "updated_at",
        "version",
        "subtask_count",
        "open_subtask_count",
        "position",
    }
)

_TASK_EXAMPLE: dict[str, Any] = {
    "title": "Send the invoice",
    "description": "PDF to accounts@example.com",
    "completed": False,
    "priority": "high",
    "due": "2026-12-01",
    "tags": ["work", "billing"],
}

_PRIORITY_HELP = "`none` (the default), `low`, `medium` or `high`."
_TAGS_HELP = (
    "Tag names, created on the fly: at most 50 characters as sent and at least 1 after "
    "trimming, at most 20 tags. Names are "
    "unique per user case-insensitively (the first spelling wins); duplicates are merged."
)


def _merge_tags(names: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for name in names:
        merged.setdefault(tag_key(name), name)
    if len(merged) > MAX_TAGS_PER_TASK:
        raise ValueError(f"at most {MAX_TAGS_PER_TASK} tags per task")
    return list(merged.values())


class _TaskInput(StrictInput):
    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in READ_ONLY_FIELDS}
        return data


# A list id (or task id) in a request body: a JSON string.
ListId = Annotated[uuid.UUID, JSON_STRING]
_LIST_HELP = "One of your lists (`GET /api/v1/lists`); any other id is a 422 naming `list_id`."


class CompatTaskCreate(_TaskInput):
    """POST body of the Hackathon II routes: the task fields, without a list (the Inbox)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TASK_EXAMPLE]})

    title: Title = Field(description="At most 255 characters as sent, at least 1 after trimming.")
    description: Description | None = Field(default=None, description="Up to 10,000 characters.")
    completed: bool = False
    priority: PriorityName = Field(default=Priority.none, description=_PRIORITY_HELP)
    due: Due | None = Field(default=None, description="When the task is due; null for never.")
    tags: list[TagName] = Field(
        default_factory=list, description=_TAGS_HELP, json_schema_extra={"maxItems": 20}
    )
    recurrence: Recurrence | None = Field(
        default=None, description=RECURRENCE_HELP, examples=RECURRENCE_EXAMPLES
    )
    recurrence_basis: RecurrenceBasisName = Field(
        default=RecurrenceBasis.due, description=BASIS_HELP
    )

    _merge = field_validator("tags")(_merge_tags)


_PARENT_HELP = (
    "A subtask goes under one of your tasks in the same list, at most 4 levels deep; a "
    "missing or trashed task, one in another list, the task itself or one of its subtasks "
    "is a 422 naming `parent_id`."
)


class TaskCreate(CompatTaskCreate):
    list_id: ListId | None = Field(
        default=None,
        description=(
            f"The task's list; null or omitted: your Inbox (or the parent's list). {_LIST_HELP}"
        ),
    )
    parent_id: ListId | None = Field(
        default=None, description=f"Make it a subtask of this task. {_PARENT_HELP}"
    )


class TaskReplace(TaskCreate):
    """PUT body: every client field; omitted optional fields are reset to their defaults,
    except `list_id` and `parent_id`: omitted or null, the task stays where it is."""


def _not_nullable_list(schema: dict[str, Any]) -> None:
    not_nullable(schema)
    schema["maxItems"] = MAX_TAGS_PER_TASK


class CompatTaskUpdate(_TaskInput):
    """PUT body of the Hackathon II routes: only the fields sent change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Send the final invoice"}]})

    # None only means "not sent": the contract shows these as non-nullable, as they are.
    title: Title | None = Field(
        default=None, description="Cannot be null.", json_schema_extra=not_nullable
    )
    description: Description | None = None
    completed: bool | None = Field(
        default=None, description="Cannot be null.", json_schema_extra=not_nullable
    )
    priority: PriorityName | None = Field(
        default=None, description="Cannot be null.", json_schema_extra=not_nullable
    )
    due: Due | None = Field(default=None, description="`null` clears the due date.")
    tags: list[TagName] | None = Field(
        default=None,
        description="Replaces the task's tags; `[]` removes them all. At most 20.",
        json_schema_extra=_not_nullable_list,
    )
    recurrence: Recurrence | None = Field(
        default=None,
        description="`null` stops the recurrence. Setting it restarts the series at the due.",
        examples=RECURRENCE_EXAMPLES,
    )
    recurrence_basis: RecurrenceBasisName | None = Field(
        default=None, description="Cannot be null. " + BASIS_HELP, json_schema_extra=not_nullable
    )

    @field_validator("tags")
    @classmethod
    def _merge(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _merge_tags(value)

    @field_validator("title", "completed", "priority", "tags", "recurrence_basis")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only runs for values the client sent, so an explicit null lands here.
        if value is None:
            raise ValueError("cannot be null")
        return value


class TaskUpdate(CompatTaskUpdate):
    """PATCH body: only the fields sent change; `description: null` clears it. `list_id`
    moves the task to another of your lists."""

    list_id: ListId | None = Field(
        default=None,
        description=f"Cannot be null. Moves the task. {_LIST_HELP}",
        json_schema_extra=not_nullable,
    )

    parent_id: ListId | None = Field(
        default=None,
        description=(
            f"Moves the task under another; `null` makes it a top-level task. {_PARENT_HELP}"
        ),
    )

    @field_validator("list_id")
    @classmethod
    def _list_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


class TaskFields(Protocol):
    """What the API shows of a task: a Task, or a row of the tasks table read without the ORM."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def completed(self) -> bool: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def list_id(self) -> uuid.UUID: ...
    @property
    def version(self) -> int: ...
    @property
    def recurrence(self) -> str | None: ...
    @property
    def recurrence_basis(self) -> str: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...
    @property
    def subtask_count(self) -> int: ...
    @property
    def open_subtask_count(self) -> int: ...
    @property
    def position(self) -> str: ...


# A task as both surfaces show it; TaskPublic adds the fields of lists and subtasks.
_SHOWN_TASK_EXAMPLE: dict[str, Any] = {
    "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
    **_TASK_EXAMPLE,
    "completed_at": None,
    "created_at": "2026-11-24T09:30:00Z",
    "updated_at": "2026-11-24T09:30:00Z",
    "version": 1,
    "recurrence": None,
    "recurrence_basis": "due",
}


class CompatTask(BaseModel):
    """A task as the Hackathon II routes show it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [_SHOWN_TASK_EXAMPLE]},
    )

    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: Priority
    due: datetime | date | None = Field(
        description="An all-day date (`YYYY-MM-DD`) or a UTC date-time; null when not due.",
        examples=DUE_EXAMPLES,
    )
    tags: list[str] = Field(description="Tag names, sorted case-insensitively.")
    created_at: datetime
    updated_at: datetime
    version: int = Field(
        description="1 when created, one more after every change. The `ETag` header is this "
        'number in quotes (`"3"`); send it back in `If-Match` to write only over what you read.',
        ge=1,
    )
    recurrence: str | None = Field(
        description="The RRULE in canonical form; null for a task that does not recur.",
        examples=RECURRENCE_EXAMPLES,
    )
    recurrence_basis: RecurrenceBasis = Field(description=BASIS_HELP)

    @classmethod
    def from_task(cls, task: "TaskFields", tags: list[str]) -> "CompatTask":
        return cls(
            id=task.id,
            title=task.title,
            description=task.description,
            completed=task.completed,
            completed_at=task.completed_at,
            priority=Priority.from_level(task.priority),
            due=task.due_date if task.due_date is not None else task.due_at,
            tags=tags,
            created_at=task.created_at,
            updated_at=task.updated_at,
            version=task.version,
            recurrence=task.recurrence,
            recurrence_basis=RecurrenceBasis(task.recurrence_basis),
        )


class TaskPublic(CompatTask):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SHOWN_TASK_EXAMPLE,
                    "list_id": "3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10",
                    "parent_id": None,
                    "subtask_count": 0,
                    "open_subtask_count": 0,
                    "position": "i8DyssLodr7JN",
                }
            ]
        },
    )

    list_id: uuid.UUID = Field(description="The list the task is in.")
    parent_id: uuid.UUID | None = Field(description="The task this is a subtask of, or null.")
    subtask_count: int = Field(description="Its subtasks (one level down, not in the trash).")
    open_subtask_count: int = Field(description="Those of its subtasks not completed.")
    position: str = Field(
        description="Its place among its siblings (same list, same parent): `sort=position` "
        "orders by it (byte order, ties by id). An opaque key; change it with "
        "`POST /api/v1/tasks/{id}/move`. New tasks go last."
    )

    @classmethod
    def from_task(cls, task: "TaskFields", tags: list[str]) -> "TaskPublic":
        return cls(
            **CompatTask.from_task(task, tags).model_dump(),
            list_id=task.list_id,
            parent_id=task.parent_id,
            subtask_count=task.subtask_count,
            open_subtask_count=task.open_subtask_count,
            position=task.position,
        )


def task_document(task: "TaskFields", tags: list[str]) -> dict[str, Any]:
    """A task exactly as TaskPublic shows it, as plain values for a fast JSON encoder.

    The hot routes render responses with orjson from this instead of validating and dumping
    a TaskPublic per task, which cost about 7 microseconds a task, most of a page of 50.
    TaskPublic still declares the shape in the contract; tests check both give the same JSON.
    """
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
        "completed_at": task.completed_at,
        "priority": Priority.from_level(task.priority),
        "due": task.due_date if task.due_date is not None else task.due_at,
        "tags": tags,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
        "recurrence": task.recurrence,
        "recurrence_basis": task.recurrence_basis,
        "list_id": task.list_id,
        "parent_id": task.parent_id,
        "subtask_count": task.subtask_count,
        "open_subtask_count": task.open_subtask_count,
        "position": task.position,
    }


class TaskPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "next_cursor": None}]})

    items: list[TaskPublic]
    next_cursor: Cursor | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class TaskMove(StrictInput):
    """Body of `POST /api/v1/tasks/{id}/move`: where the task goes. Every field is optional;
    an empty body moves it to the end of its siblings."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"after": "0b6f3c1e-2f4a-4e8b-9d7c-5a1e2b3c4d5e"},
                {"list_id": "3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10", "parent_id": None},
            ]
        }
    )

    list_id: ListId | None = Field(
        default=None, description="Move it (and its subtasks) to this list. " + _LIST_HELP
    )
    parent_id: ListId | None = Field(
        default=None,
        description="Make it a subtask of this task (`null`: a top-level task). Not sent: it "
        "keeps its parent, unless it changes list (then it becomes top-level).",
    )
    before: ListId | None = Field(
        default=None,
        description="Place it right before this sibling (a task with the same list and parent "
        "it ends up with); any other id is a 422 naming `before`.",
    )
    after: ListId | None = Field(
        default=None,
        description="Place it right after this sibling; with `before` too, somewhere between "
        "the two (`after` must come first). Neither: at the end.",
    )


class CompleteRequest(StrictInput):
    """Body of PATCH /api/{user_id}/tasks/{id}/complete: sets the state (an empty body toggles)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"completed": True}]})

    completed: bool

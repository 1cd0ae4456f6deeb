"""Query parameters of `GET /api/v1/tasks` and the stats document."""

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.schemas.common import opaque
from app.schemas.values import DUE_EXAMPLES, Due, Moment, Priority, TagName, tag_key

SortField = Literal["created_at", "updated_at", "due", "priority", "title", "relevance", "position"]
SORT_FIELDS: tuple[SortField, ...] = (
    "created_at",
    "updated_at",
    "due",
    "priority",
    "title",
    "relevance",
    "position",
)
DEFAULT_SORT = "-created_at"
PARENT_PATTERN = (
    "^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_SORT_KEY = "-?(" + "|".join(SORT_FIELDS) + ")"
# Published in the contract, and every value it matches is accepted (see TaskQuery.sort).
SORT_PATTERN = f"^{_SORT_KEY}(,{_SORT_KEY})*$"

# The longest cursor is about 2,300 characters (a title of 255 characters that each take six
# bytes of JSON, plus every other sort key); tests/routers/test_task_listing.py builds it.
MAX_CURSOR_LENGTH = 4096
Cursor = Annotated[str, opaque(MAX_CURSOR_LENGTH)]


@dataclass(frozen=True)
class SortKey:
    field: SortField
    descending: bool


def parse_sort(value: str) -> tuple[SortKey, ...]:
    """The keys in order; a repeated key is ignored, its first occurrence decides."""
    keys: list[SortKey] = []
    for part in value.split(","):
        descending = part.startswith("-")
        name = part.removeprefix("-")
        if name not in SORT_FIELDS:
            raise ValueError(
                f"unknown sort key {part!r}; use {', '.join(SORT_FIELDS)}, each optionally "
                "prefixed with - for descending, comma-separated"
            )
        if all(key.field != name for key in keys):
            keys.append(SortKey(field=name, descending=descending))
    return tuple(keys)


def _has_word(value: str) -> bool:
    return any(char.isalnum() for char in value)


class TaskQuery(BaseModel):
    """Filters (all combinable), sort and page of the task listing."""

    model_config = ConfigDict(extra="ignore")

    completed: bool | None = Field(
        default=None,
        description="Only completed (`true`) or open (`false`) tasks.",
        examples=[False],
    )
    priority: list[Priority] = Field(
        default_factory=list,
        description="Only these priorities; repeat for several (`priority=high&priority=medium`).",
        examples=[["high"]],
    )
    tag: list[TagName] = Field(
        default_factory=list,
        description="Only tasks carrying every listed tag (case-insensitive); repeatable.",
        examples=[["work"]],
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description=(
            "Keywords searched in title and description, case-insensitively; every word must "
            "appear (whole words). Enables `sort=relevance`."
        ),
        examples=["invoice"],
        # At least one letter or digit (Python's `re`: a word character that is not `_`).
        json_schema_extra={"pattern": r"[^\W_]"},
    )
    due_before: Due | None = Field(
        default=None,
        description=(
            "Only tasks due before this. A date means before that day starts (00:00 UTC); "
            "all-day tasks count as 00:00 UTC of their day."
        ),
        examples=DUE_EXAMPLES[:1],
    )
    due_after: Due | None = Field(
        default=None,
        description=(
            "Only tasks due after this. A date means from the next day on (00:00 UTC); "
            "all-day tasks count as 00:00 UTC of their day."
        ),
        examples=["2026-11-30"],
    )
    overdue: bool | None = Field(
        default=None,
        description=(
            "`true`: open tasks past due (an all-day task is overdue once its day has ended "
            "in your time zone). `false`: every other task."
        ),
        examples=[True],
    )
    has_due: bool | None = Field(
        default=None, description="Only tasks with (`true`) or without a due date.", examples=[True]
    )
    created_after: Moment | None = Field(
        default=None, description="Only tasks created after this moment."
    )
    updated_after: Moment | None = Field(
        default=None, description="Only tasks changed after this moment."
    )
    # `list` in the query string; not the field's name, which would hide the builtin here.
    lists: list[uuid.UUID] = Field(
        default_factory=list,
        alias="list",
        description="Only tasks in these lists (ids); repeat for several (`list=a&list=b`).",
        examples=[["3f0b8a52-5a8e-4b8e-a0e4-2a7c1f6d9b10"]],
    )
    parent: str | None = Field(
        default=None,
        description="`none`: only top-level tasks; a task id: only that task's subtasks.",
        examples=["none"],
        json_schema_extra={"pattern": PARENT_PATTERN},
    )
    archived: bool = Field(
        default=False,
        description="`true`: include tasks of archived lists (left out by default).",
        examples=[True],
    )
    sort: str = Field(
        default=DEFAULT_SORT,
        max_length=200,
        description=(
            "Comma-separated keys from `created_at`, `updated_at`, `due`, `priority`, `title`, "
            "`relevance`, `position`; prefix `-` for descending. Ties are broken by id. "
            "`position` is the manual order among siblings (use it with `list` and `parent`, "
            "e.g. `?list=<id>&parent=none&sort=position`). Tasks "
            "without a due date come last in both directions of `due`; all-day tasks sort at "
            "00:00 UTC of their day. `priority` ascends none < low < medium < high. "
            "`relevance` ranks by the search `q` and has no effect without it (with no other "
            "key, the order is the default). A repeated key has no further effect: its first "
            "occurrence decides."
        ),
        examples=["-priority,due"],
        json_schema_extra={"pattern": SORT_PATTERN},
    )
    limit: int = Field(default=50, ge=1, le=100, description="Page size, 1 to 100.", examples=[20])
    cursor: Cursor | None = Field(
        default=None,
        description=(
            "`next_cursor` from the previous page, with the same filters and sort; any other "
            "value of this form is a 400 `invalid-cursor` problem."
        ),
    )

    @field_validator("q")
    @classmethod
    def _q_has_words(cls, value: str | None) -> str | None:
        if value is not None and not _has_word(value):
            raise ValueError("must contain at least one letter or digit")
        return value.strip() if value is not None else None

    @field_validator("parent")
    @classmethod
    def _parent(cls, value: str | None) -> str | None:
        if value is None or value == "none":
            return value
        if not re.fullmatch(PARENT_PATTERN, value):
            raise ValueError("must be `none` or a task id")
        return str(uuid.UUID(value))

    @field_validator("tag")
    @classmethod
    def _merge_tags(cls, value: list[str]) -> list[str]:
        return list({tag_key(name): name for name in value}.values())

    @field_validator("sort")
    @classmethod
    def _normalize_sort(cls, value: str, info: ValidationInfo) -> str:
        # One spelling per order, so equal orders share cursors (the fingerprint holds it).
        keys = parse_sort(value)
        if not info.data.get("q"):
            # Without a search every task is as relevant as the next: the key orders nothing.
            keys = tuple(key for key in keys if key.field != "relevance")
        if not keys:
            return DEFAULT_SORT
        return ",".join(("-" if key.descending else "") + key.field for key in keys)

    @property
    def sort_keys(self) -> tuple[SortKey, ...]:
        return parse_sort(self.sort)

    def fingerprint_data(self) -> dict[str, Any]:
        """Everything that decides the order and membership of the list (not limit/cursor)."""
        data = self.model_dump(mode="json", exclude={"limit", "cursor"})
        data["priority"] = sorted(data["priority"])
        data["tag"] = sorted(tag_key(name) for name in data["tag"])
        data["lists"] = sorted(set(data["lists"]))
        return data


# Fields given as repeated query parameters (`?tag=a&tag=b`).
REPEATABLE = frozenset(
    field.alias or name
    for name, field in TaskQuery.model_fields.items()
    if get_origin(field.annotation) is list
)


def query_parameters() -> list[dict[str, Any]]:
    """The listing's query parameters as OpenAPI documents them: one per field of TaskQuery,
    with the field's own JSON schema (what FastAPI would publish for `Query()` on the model,
    which the route does not use: see dependencies.task_query)."""
    schema = TaskQuery.model_json_schema(
        mode="validation", ref_template="#/components/schemas/{model}"
    )
    parameters = []
    for name, property_schema in schema["properties"].items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False}
        if "description" in property_schema:
            parameter["description"] = property_schema["description"]
        parameter["schema"] = property_schema
        parameters.append(parameter)
    return parameters


class CountPair(BaseModel):
    open: int
    total: int


class TagCount(BaseModel):
    id: uuid.UUID
    name: str
    open: int
    total: int


class TaskStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 12,
                    "open": 9,
                    "completed": 3,
                    "overdue": 2,
                    "due_today": 1,
                    "by_priority": {
                        "none": {"open": 4, "total": 5},
                        "low": {"open": 1, "total": 2},
                        "medium": {"open": 2, "total": 3},
                        "high": {"open": 2, "total": 2},
                    },
                    "by_tag": [
                        {
                            "id": "0b6f2a8e-2f5d-4c0e-9a51-6c1d2e3f4a5b",
                            "name": "work",
                            "open": 3,
                            "total": 4,
                        }
                    ],
                }
            ]
        }
    )

    total: int
    open: int
    completed: int
    overdue: int = Field(description="Open tasks past due (see `overdue` on the listing).")
    due_today: int = Field(description="Open tasks due today in your time zone.")
    by_priority: dict[Priority, CountPair]
    by_tag: list[TagCount] = Field(description="Every tag, sorted by name.")

"""Tool arguments: parsed with the REST API's own models, so both protocols accept exactly
the same values, and published as the JSON schemas those models give; a name a tool does not
take is refused, not ignored (an assistant that misspells a filter should hear about it)."""

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from app.core.errors import TaskNotFound
from app.schemas.task_query import TaskQuery

Arguments = Mapping[str, Any]


def unknown_names(arguments: Arguments, allowed: frozenset[str]) -> list[InitErrorDetails]:
    return [
        {"type": "extra_forbidden", "loc": (name,), "input": arguments[name]}
        for name in sorted(set(arguments) - allowed)
    ]


def parse_query(
    arguments: Arguments,
    *,
    allowed: frozenset[str],
    required: tuple[str, ...] = (),
    fixed: Mapping[str, Any] | None = None,
) -> TaskQuery:
    """The listing's TaskQuery from tool arguments: the REST query string's rules exactly,
    except that an unknown name is an error rather than ignored (an assistant that misspells
    a filter should hear about it, not get every task)."""
    errors = unknown_names(arguments, allowed)
    errors += [
        {"type": "missing", "loc": (name,), "input": dict(arguments)}
        for name in required
        if name not in arguments
    ]
    if errors:
        raise ValidationError.from_exception_data("arguments", errors)
    return TaskQuery.model_validate({**arguments, **(fixed or {})})


def task_id_of(value: str) -> uuid.UUID:
    """A malformed id is answered like a missing task, as on REST: not found."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise TaskNotFound from exc


def no_arguments(arguments: Arguments) -> None:
    errors = unknown_names(arguments, frozenset())
    if errors:
        raise ValidationError.from_exception_data("arguments", errors)


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="validation")


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


_QUERY_SCHEMA = TaskQuery.model_json_schema(mode="validation")
LIST_ARGUMENTS = frozenset(TaskQuery.model_fields)
SEARCH_ARGUMENTS = frozenset({"q", "completed", "priority", "tag", "limit", "cursor"})


def query_schema(names: frozenset[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The listing's query parameters as a tool's input: the same JSON schema per field."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            name: field for name, field in _QUERY_SCHEMA["properties"].items() if name in names
        },
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    if "$defs" in _QUERY_SCHEMA:
        schema["$defs"] = _QUERY_SCHEMA["$defs"]
    return schema


NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

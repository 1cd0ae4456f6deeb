"""Field types and the problem document shared by every schema."""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


@dataclass(frozen=True)
class Pattern:
    """A regex the value must match, checked with Python's `re` and published in the schema.

    Declared this way (not as a pydantic `pattern`, which uses a different regex engine) so
    the contract and the server agree character for character, e.g. on what is whitespace.
    """

    regex: str
    message: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        compiled = re.compile(self.regex)

        def check(value: str) -> str:
            if not compiled.search(value):
                raise ValueError(self.message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.regex
        return json_schema


# PostgreSQL cannot store U+0000 in text; refuse it everywhere so both databases agree.
NO_NUL = Pattern(r"^[^\x00]*$", "must not contain NUL characters")
# The same, and at least one character that is not whitespace.
NOT_BLANK_NO_NUL = Pattern(
    r"^[^\x00]*[^\s\x00][^\x00]*$", "must not be blank or contain NUL characters"
)


def reject_nul(value: str) -> str:
    """For AfterValidator chains that need the NUL rule alone (tag names)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNulStr = Annotated[str, NO_NUL]

# Strings are trimmed of surrounding whitespace, then length-checked, and refuse NUL.
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    NOT_BLANK_NO_NUL,
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), NO_NUL]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    NOT_BLANK_NO_NUL,
]


def not_nullable(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for optional fields where None only means "not sent": publish the
    field without `null`, since an explicit null is refused."""
    variants = schema.pop("anyOf", None)
    if variants:
        schema.update(next(v for v in variants if v.get("type") != "null"))


class StrictInput(BaseModel):
    """Request bodies: unknown fields are an error that names them."""

    model_config = ConfigDict(extra="forbid")


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document, sent as `application/problem+json`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Task not found.",
                    "instance": "/api/v1/tasks/7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                }
            ]
        }
    )

    type: str = Field(description="A URI reference identifying the problem type.")
    title: str = Field(description="A short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="A human-readable explanation of this occurrence.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Validation errors (422 only), one per invalid input."
    )
    request_id: str | None = Field(default=None, description="Present on 500 responses.")


_DESCRIPTIONS = {
    400: "Bad request (malformed or too deeply nested JSON, invalid cursor)",
    401: "Missing, invalid or expired credentials",
    403: "Forbidden",
    404: "Not found (or not yours)",
    409: "Conflict",
    413: "Request body too large",
    415: "Request body is not JSON",
    422: "Validation failed; `errors` names each invalid input",
    429: "Too many requests",
    503: "Service unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting each error as a problem document."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for status in statuses
    }

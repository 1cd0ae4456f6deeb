"""Field types and the problem document shared by every schema."""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
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
# Python's whitespace (str.isspace), spelled out: `\s` means different sets in Python and in
# the JavaScript-flavoured regexes that client generators and fuzzers read from the contract
# (Python counts U+001C-U+001F and U+0085, JavaScript counts U+FEFF instead).
WHITESPACE_CLASS = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The same, and at least one character that is not whitespace.
NOT_BLANK_NO_NUL = Pattern(
    rf"^[^\x00]*[^{WHITESPACE_CLASS}\x00][^\x00]*$",
    "must not be blank or contain NUL characters",
)


def reject_nul(value: str) -> str:
    """For AfterValidator chains that need the NUL rule alone (tag names)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNulStr = Annotated[str, NO_NUL]


def at_most(limit: int) -> BeforeValidator:
    """The published `maxLength` holds for the string as sent: a value over it is refused
    before trimming (else 101 characters with a space at the edge would pass a limit of 100,
    which the contract says is refused)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return value

    return BeforeValidator(check)


# Strings are length-checked as sent, trimmed of surrounding whitespace, length-checked
# again, and refuse NUL.
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    NOT_BLANK_NO_NUL,
    at_most(255),
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10_000), NO_NUL, at_most(10_000)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    NOT_BLANK_NO_NUL,
    at_most(100),
]


def not_nullable(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for optional fields where None only means "not sent": publish the
    field without `null`, since an explicit null is refused."""
    variants = schema.pop("anyOf", None)
    if variants:
        schema.update(next(v for v in variants if v.get("type") != "null"))


# URL-safe base64 without padding: the alphabet of every opaque value the API hands out.
OPAQUE_PATTERN = r"^[A-Za-z0-9_-]+$"


def opaque(max_length: int) -> StringConstraints:
    """The published shape of an opaque value (a cursor; later tickets or feed tokens):
    `Annotated[str, opaque(...)]`.

    Only the server can read such a value, yet generators, validating proxies and readers of
    the contract learn its alphabet and length. A value of the wrong shape is a 422 like any
    other invalid input; one of the right shape that the server did not issue is its own 400
    problem (the rule that no schema can state).
    """
    # pydantic's (Rust) regex and ECMAScript agree on this pattern: no `\s`, `$` ends the text.
    return StringConstraints(min_length=1, max_length=max_length, pattern=OPAQUE_PATTERN)


class StrictInput(BaseModel):
    """Request bodies: unknown fields are an error that names them, and values must have the
    JSON type the contract gives them (`0` is not `false`, `"5"` is not `5`).

    FastAPI validates the parsed JSON in Python mode, where strict would also refuse the string
    that is the only JSON form of an enum or a UUID: such a field is marked `JSON_STRING`.
    Dates and date-times have validators of their own (`Due`, `Moment`) that take strings only.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


# For an enum or UUID field of a strict body. Lax parsing of these takes nothing from JSON but a
# string (not for dates: lax pydantic reads a number as a Unix time), so this reopens nothing.
JSON_STRING = Strict(False)


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
    version: int | None = Field(
        default=None, description="412 only: the task's current version (its ETag unquoted)."
    )
    index: int | None = Field(
        default=None, description="A batch's failed operation, counted from 0."
    )


_DESCRIPTIONS = {
    400: "Bad request (malformed or too deeply nested JSON, invalid cursor)",
    401: "Missing, invalid or expired credentials",
    403: "Forbidden",
    404: "Not found (or not yours)",
    409: "Conflict",
    410: "Gone: the cursor is older than the change feed keeps; start again without it",
    412: "Precondition failed: If-Match names a version that is not current",
    413: "Request body too large",
    415: "Request body is not JSON",
    422: "Validation failed; `errors` names each invalid input",
    428: "Precondition required: send If-Match (REQUIRE_IF_MATCH=true)",
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

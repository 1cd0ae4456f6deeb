"""Field types and the problem document shared by every schema."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def reject_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text; refuse it everywhere so both databases agree.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNulStr = Annotated[str, AfterValidator(reject_nul)]


# Strings are trimmed of surrounding whitespace, then length-checked, and refuse NUL.
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(reject_nul),
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10_000), AfterValidator(reject_nul)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
]


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

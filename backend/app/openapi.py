"""The OpenAPI document: FastAPI's, finished so generated clients and the docs UIs get it right.

FastAPI gets most of it from the routes. What it cannot know is fixed here, once, for every
route (including ones added later):
- error responses are `application/problem+json` only (FastAPI also lists `application/json`
  for a `responses=` model), each with an example for its status;
- the `422 HTTPValidationError` FastAPI adds to any route with parameters is dropped: a route
  that can answer 422 declares it with `problem_responses(422)` like every other error;
- a plain HTTP bearer scheme sits beside the OAuth2 password flow, so a client may send any
  access token it holds, and the docs UIs accept a pasted token too;
- each protected operation's security requirement names the scope it needs (the routes'
  `require_scope`), for both schemes: OpenAPI 3.1 allows scopes for any scheme type, and
  the requirement is where generators and the docs UIs look. An operation for logins only
  (`login_required`) has an empty list and says so in its description. Every protected
  operation documents the 403 a personal token without the scope gets.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
BEARER_SCHEME = "BearerAuth"
OAUTH2_SCHEME = "OAuth2PasswordBearer"

# (type, title, detail) as the app sends them; a None title is the status's phrase.
_EXAMPLES: dict[int, tuple[str, str | None, str]] = {
    400: ("/problems/malformed-json", "Malformed JSON", "The request body is not valid JSON."),
    401: (
        "/problems/invalid-token",
        "Not authenticated",
        "Missing, invalid or expired access token.",
    ),
    403: (
        "/problems/insufficient-scope",
        "Insufficient scope",
        "This token lacks the tasks:read scope.",
    ),
    404: ("about:blank", None, "Task not found."),
    409: (
        "/problems/email-taken",
        "Email already registered",
        "An account with this email already exists.",
    ),
    412: (
        "/problems/precondition-failed",
        "Precondition failed",
        "The task has changed since you read it: `version` is the current one.",
    ),
    413: ("about:blank", None, "The request body is larger than 1048576 bytes."),
    415: ("about:blank", None, "Request bodies must be JSON (Content-Type: application/json)."),
    422: ("/problems/validation-error", "Validation failed", "Invalid request: title"),
    428: (
        "/problems/precondition-required",
        "Precondition required",
        "This server requires If-Match on writes: send the ETag you read (RFC 6585).",
    ),
    429: (
        "/problems/rate-limited",
        "Too many requests",
        "Too many requests; retry after the Retry-After delay.",
    ),
    503: ("about:blank", None, "The database is unreachable."),
}


def problem_example(status: int) -> dict[str, Any]:
    phrase = HTTPStatus(status)
    type_, title, detail = _EXAMPLES.get(status, ("about:blank", None, phrase.description))
    example: dict[str, Any] = {
        "type": type_,
        "title": title or phrase.phrase,
        "status": status,
        "detail": detail,
        "instance": "/api/v1/tasks",
    }
    if status == 422:
        example["errors"] = [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}]
    if status == 412:
        example["version"] = 4
    return example


def _is_error(status: str) -> bool:
    return status[:1] in {"4", "5"}


def _refine_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    if operation.get("security") and "403" not in responses:
        # A personal access token without the operation's scope (RFC 6750 insufficient_scope).
        responses["403"] = {"description": "The token lacks the scope this operation needs"}
    if PROBLEM_MEDIA_TYPE not in responses.get("422", {}).get("content", {PROBLEM_MEDIA_TYPE: 1}):
        # FastAPI's automatic `HTTPValidationError` 422, not one the route declared.
        del responses["422"]
    for status, response in responses.items():
        if not _is_error(status):
            continue
        response["content"] = {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": PROBLEM_REF},
                "example": problem_example(int(status)),
            }
        }
    security = operation.get("security")
    if security:
        scopes = sorted(
            {scope for requirement in security for s in requirement.values() for scope in s}
        )
        if not any(BEARER_SCHEME in requirement for requirement in security):
            security.append({BEARER_SCHEME: scopes})
        description = operation.get("description", "")
        if scopes:
            note = f"Scope: `{'`, `'.join(scopes)}`."
        else:
            note = "Not with a personal access token: log in."
        if note not in description:
            operation["description"] = f"{description}\n\n{note}".strip()


def _drop_unused_schemas(schema: dict[str, Any]) -> None:
    schemas: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    while True:
        text = repr({key: value for key, value in schema.items() if key != "components"})
        text += repr(schemas)
        unused = [name for name in schemas if f"'#/components/schemas/{name}'" not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _refine_operation(operation)
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    if OAUTH2_SCHEME in schemes:
        schemes[OAUTH2_SCHEME]["description"] = (
            "Log in with your email (as `username`) and password; the docs' **Authorize** "
            "button does this for you."
        )
        schemes[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/v1/auth/token` (every scope), or a "
            "personal access token `tap_...` (the scopes it was made with).",
        }
    _drop_unused_schemas(schema)
    return schema


class TasksAPI(FastAPI):
    """FastAPI with the finished OpenAPI document (built once, then cached)."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = refine(super().openapi())
        return self.openapi_schema

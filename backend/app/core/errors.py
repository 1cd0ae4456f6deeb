"""Domain errors and their RFC 9457 problem+json rendering.

Services raise the small exceptions below; `install_error_handlers` turns them, FastAPI's
validation errors, Starlette's HTTP errors and anything unexpected into problem documents.
"""

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
BEARER_CHALLENGE = 'Bearer error="invalid_token"'

logger = logging.getLogger("app.errors")


class DomainError(Exception):
    status: int = 400
    type_: str = "about:blank"
    title: str | None = None
    detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail
        # Extension members of the problem document (RFC 9457, 3.2), e.g. a batch's `index`.
        self.members: dict[str, Any] = {}

    def headers(self) -> dict[str, str]:
        return {}

    def extra(self) -> dict[str, Any] | None:
        """Members added to the problem document (e.g. `errors`, `list_id`, `version`)."""
        return self.members or None


class NotFound(DomainError):
    status = 404
    detail = "The resource does not exist."


class TaskNotFound(NotFound):
    detail = "Task not found."


class TagNotFound(NotFound):
    detail = "Tag not found."


class ReminderNotFound(NotFound):
    detail = "Reminder not found."


class InvalidField(DomainError):
    """A body field that is valid alone but not with the stored state (a recurrence on a task
    without a due; a list or parent the caller does not have, worded the same whether it is
    missing or someone else's): the same 422 as a validation error, naming the field."""

    status = 422
    type_ = "/problems/validation-error"
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"Invalid request: {field}")
        self.field = field
        self.message = message

    def extra(self) -> dict[str, Any]:
        return {
            **self.members,  # a batch's `index`
            "errors": [{"loc": ["body", self.field], "msg": self.message, "type": "value_error"}],
        }


class NotRecurring(DomainError):
    status = 409
    type_ = "/problems/not-recurring"
    title = "Task does not recur"
    detail = "The task has no recurrence, or its series is over."


class TooManyReminders(DomainError):
    status = 409
    type_ = "/problems/too-many-reminders"
    title = "Too many reminders"
    detail = "A task has at most 10 reminders; delete one first."


class WebhookNotFound(NotFound):
    detail = "Webhook not found."


class DeliveryNotFound(NotFound):
    detail = "Delivery not found."


class UnsafeWebhookUrl(DomainError):
    status = 422
    type_ = "/problems/unsafe-webhook-url"
    title = "Webhook URL not allowed"
    detail = "Webhooks may only be sent to public https:// URLs."


class TagNameTaken(DomainError):
    status = 409
    type_ = "/problems/tag-name-taken"
    title = "Tag name taken"
    detail = "You already have a tag with this name (names are case-insensitive)."


class ListNotFound(NotFound):
    detail = "List not found."


class ListNameTaken(DomainError):
    status = 409
    type_ = "/problems/list-name-taken"
    title = "List name taken"
    detail = "You already have a list with this name (names are case-insensitive)."

    def __init__(self, existing_id: Any) -> None:
        super().__init__()
        self.existing_id = existing_id

    def extra(self) -> dict[str, Any] | None:
        return {"list_id": str(self.existing_id)} if self.existing_id is not None else None


class InboxProtected(DomainError):
    status = 409
    type_ = "/problems/inbox-protected"
    title = "The Inbox cannot be changed this way"
    detail = "The Inbox cannot be archived or deleted."


class ListNotEmpty(DomainError):
    status = 409
    type_ = "/problems/list-not-empty"
    title = "List not empty"
    detail = (
        "The list still holds tasks; say what happens to them with ?tasks=inbox (move them to "
        "the Inbox) or ?tasks=trash (move them to the trash)."
    )


class EmailTaken(DomainError):
    status = 409
    type_ = "/problems/email-taken"
    title = "Email already registered"
    detail = "An account with this email already exists."


class InvalidCredentials(DomainError):
    status = 401
    type_ = "/problems/invalid-credentials"
    title = "Invalid credentials"
    detail = "Incorrect email or password."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InvalidRefreshToken(DomainError):
    status = 401
    type_ = "/problems/invalid-refresh-token"
    title = "Invalid refresh token"
    detail = "The refresh token is invalid, expired or revoked."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BEARER_CHALLENGE}


class WrongCurrentPassword(DomainError):
    status = 403
    type_ = "/problems/wrong-current-password"
    title = "Wrong current password"
    detail = "The current password is incorrect."


class ProviderAccount(DomainError):
    """The account signs in through an identity provider: its password and sessions live
    there, not here."""

    status = 409
    type_ = "/problems/provider-account"
    title = "Managed by the identity provider"
    detail = "This account signs in through an identity provider; manage it there."


class RateLimited(DomainError):
    status = 429
    type_ = "/problems/rate-limited"
    title = "Too many requests"
    detail = "Too many requests; retry after the number of seconds in Retry-After."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class JsonTooDeep(DomainError):
    status = 400
    type_ = "/problems/json-too-deep"
    title = "JSON nested too deeply"


class NotAuthenticated(DomainError):
    status = 401
    type_ = "/problems/invalid-token"
    title = "Not authenticated"
    detail = "Missing, invalid or expired access token."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BEARER_CHALLENGE}


class InvalidProviderToken(NotAuthenticated):
    """A token from the external provider failed verification (RFC 6750 error_description)."""

    description = "The access token is invalid"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error_description="{self.description}"'}


class ExpiredProviderToken(InvalidProviderToken):
    title = "Token expired"
    detail = "The access token has expired; get a fresh one from the identity provider."
    description = "The access token expired"


class Forbidden(DomainError):
    status = 403
    detail = "You do not have access to this resource."


class InsufficientScope(DomainError):
    """A personal access token without the scope the route declares (RFC 6750, 3.1)."""

    status = 403
    type_ = "/problems/insufficient-scope"
    title = "Insufficient scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This token lacks the {scope} scope.")
        self.scope = scope

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope}"'}


class PersonalTokenRefused(DomainError):
    """Creating tokens, changing the password, deleting the account and logging out
    everywhere need the owner: a login, never a personal access token."""

    status = 403
    type_ = "/problems/personal-token-refused"
    title = "Not with a personal access token"
    detail = "Personal access tokens cannot do this; sign in to do it."

    def headers(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": 'Bearer error="insufficient_scope", '
            'error_description="Personal access tokens cannot do this"'
        }


class PersonalTokenNotFound(NotFound):
    detail = "Personal access token not found."


class TooManyPersonalTokens(DomainError):
    status = 409
    type_ = "/problems/too-many-personal-tokens"
    title = "Too many personal access tokens"
    detail = "You have the most personal access tokens allowed; revoke one first."


class CalendarFeedNotFound(NotFound):
    detail = "Calendar feed not found."


class TooManyCalendarFeeds(DomainError):
    status = 409
    type_ = "/problems/too-many-calendar-feeds"
    title = "Too many calendar feeds"
    detail = "You have the most calendar feeds allowed; revoke one first."


class UnsupportedMediaType(DomainError):
    status = 415
    detail = "Request bodies must be JSON (Content-Type: application/json)."


class InvalidCursor(DomainError):
    status = 400
    type_ = "/problems/invalid-cursor"
    title = "Invalid cursor"
    detail = "The cursor is malformed or was issued for a different query."


class ChangesGone(DomainError):
    """A change feed cursor older than TOMBSTONE_RETENTION_DAYS: what it missed may be gone."""

    status = 410
    type_ = "/problems/changes-gone"
    title = "Cursor expired"
    detail = (
        "The cursor is older than the change feed keeps its log; start again without `since` "
        "(a full snapshot)."
    )


class TooManyStreams(DomainError):
    status = 429
    type_ = "/problems/too-many-streams"
    title = "Too many event streams"
    detail = "You have the most open event streams allowed; close one first."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class StreamsFull(DomainError):
    status = 503
    type_ = "/problems/streams-full"
    title = "No room for another event stream"
    detail = "This server holds the most event streams it allows; retry later."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class InvalidTicket(NotAuthenticated):
    """An event stream ticket that is unknown, used already or older than 60 seconds."""

    detail = "The ticket is invalid, used already or expired; get a new one."


class PreconditionFailed(DomainError):
    """If-Match (or a batch operation's `if_match`) names a version that is not current."""

    status = 412
    type_ = "/problems/precondition-failed"
    title = "Precondition failed"
    detail = "The task has changed since you read it: `version` is the current one."

    def __init__(self, version: int, what: str = "task") -> None:
        super().__init__(f"The {what} has changed since you read it: `version` is the current one.")
        self.version = version
        self.members["version"] = version

    def headers(self) -> dict[str, str]:
        return {"ETag": f'"{self.version}"'}


class PreconditionRequired(DomainError):
    status = 428
    type_ = "/problems/precondition-required"
    title = "Precondition required"
    detail = "This server requires If-Match on writes: send the ETag you read (RFC 6585)."


class InvalidIdempotencyKey(DomainError):
    status = 400
    type_ = "/problems/invalid-idempotency-key"
    title = "Invalid Idempotency-Key"
    detail = "Idempotency-Key must be 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(DomainError):
    status = 422
    type_ = "/problems/idempotency-key-reused"
    title = "Idempotency-Key already used"
    detail = "This Idempotency-Key was used for a different request; use a new key."


class IdempotencyKeyInProgress(DomainError):
    status = 409
    type_ = "/problems/idempotency-key-in-progress"
    title = "A request with this Idempotency-Key is in progress"
    detail = "A request with this Idempotency-Key is still being processed; retry later."


class InvalidBatchReference(DomainError):
    """A batch operation names a task the batch cannot resolve: shaped like FastAPI's own
    validation problem, with the operation's index and field."""

    status = 422
    type_ = "/problems/validation-error"
    title = "Validation failed"

    def __init__(self, index: int, field: str, message: str) -> None:
        loc: list[str | int] = ["body", "operations", index, field]
        super().__init__(f"Invalid request: operations.{index}.{field}")
        self.members["errors"] = [{"loc": loc, "msg": message, "type": "value_error"}]


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    title: str | None = None,
    type_: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
    }
    if instance is not None:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _instance(request: Request) -> str:
    return request.url.path


def _request_id(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


async def _domain_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, DomainError):  # pragma: no cover - registered for DomainError only
        return await _unexpected_error(request, exc)
    return problem_response(
        exc.status,
        detail=exc.detail,
        title=exc.title,
        type_=exc.type_,
        instance=_instance(request),
        headers=exc.headers(),
        extra=exc.extra(),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        return await _unexpected_error(request, exc)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = None
    headers = dict(exc.headers) if exc.headers else None
    allowed = _allowed_methods(request) if exc.status_code == 405 else None
    if allowed:
        # Starlette names only the first route that matched the path; list them all.
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(
        exc.status_code, detail=detail, instance=_instance(request), headers=headers
    )


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _allowed_methods(request: Request) -> list[str] | None:
    """Every method the OpenAPI document lists for this path (None if it lists none)."""
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    # The most specific template first: /api/v1/tasks/batch before /api/v1/tasks/{task_id}.
    for template, operations in sorted(paths.items(), key=lambda item: item[0].count("{")):
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods = {method.upper() for method in operations if method in _HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")
            return sorted(methods)
    return None


def _clean_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        return await _unexpected_error(request, exc)
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return problem_response(
            400,
            title="Malformed JSON",
            type_="/problems/malformed-json",
            detail="The request body is not valid JSON.",
            instance=_instance(request),
        )
    errors = [
        {"loc": _clean_loc(err.get("loc", ())), "msg": err.get("msg", ""), "type": err["type"]}
        for err in raw
    ]
    names = sorted({".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]) for e in errors})
    return problem_response(
        422,
        title="Validation failed",
        type_="/problems/validation-error",
        detail="Invalid request: " + ", ".join(names),
        instance=_instance(request),
        extra={"errors": errors},
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = _request_id(request)
    logger.error(
        "unhandled error on %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    headers = {"X-Request-ID": request_id} if request_id else None
    return problem_response(
        500,
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        instance=_instance(request),
        headers=headers,
        extra={"request_id": request_id},
    )


# SQLSTATEs that say "the database cannot serve this now, try again", not "your query is wrong":
# connection exceptions (class 08), shutdown/cannot-connect-now (57P0x), statement timeout and
# cancellation (57014), lock timeout (55P03), resource exhaustion (53xxx), and the two
# concurrency aborts a retry resolves (40001 serialization failure, 40P01 deadlock).
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01"})
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53"})
# SQLite's primary result codes for a lock held longer than busy_timeout.
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def is_database_unavailable(exc: BaseException) -> bool:
    """True when a database error means "unreachable or overloaded", never for a bug.

    Only connection-level and time-out failures count; a syntax error, a missing table or a
    constraint violation that escaped a service stays a 500 so it gets noticed.
    """
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _SQLITE_BUSY_CODES
    if hasattr(orig, "pgcode"):
        pgcode = getattr(orig, "pgcode", None)
        if not pgcode:
            # psycopg2 reports refused, dropped and timed-out connections with no SQLSTATE.
            return isinstance(exc, sa_exc.OperationalError)
        return pgcode in _TRANSIENT_SQLSTATES or pgcode[:2] in _TRANSIENT_SQLSTATE_CLASSES
    return False


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_database_unavailable(exc):
        return await _unexpected_error(request, exc)
    settings = getattr(request.app.state, "settings", None)
    retry_after = getattr(settings, "db_retry_after_seconds", 2)
    # Logged without a traceback: an outage is an operational event, not a code defect.
    logger.warning(
        "database unavailable on %s %s (request id %s): %s",
        request.method,
        request.url.path,
        _request_id(request),
        type(getattr(exc, "orig", None) or exc).__name__,
    )
    return problem_response(
        503,
        title="Service unavailable",
        type_="/problems/database-unavailable",
        detail="The database is temporarily unavailable. Retry after the given delay.",
        instance=_instance(request),
        headers={"Retry-After": str(retry_after)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.DisconnectionError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)

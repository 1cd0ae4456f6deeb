"""Domain errors and their RFC 9457 problem+json rendering.

Services raise the small exceptions below; `install_error_handlers` turns them, FastAPI's
validation errors, Starlette's HTTP errors and anything unexpected into problem documents.
"""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
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

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(DomainError):
    status = 404
    detail = "The resource does not exist."


class TaskNotFound(NotFound):
    detail = "Task not found."


class TagNotFound(NotFound):
    detail = "Tag not found."


class TagNameTaken(DomainError):
    status = 409
    type_ = "/problems/tag-name-taken"
    title = "Tag name taken"
    detail = "You already have a tag with this name (names are case-insensitive)."


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


class UnsupportedMediaType(DomainError):
    status = 415
    detail = "Request bodies must be JSON (Content-Type: application/json)."


class InvalidCursor(DomainError):
    status = 400
    type_ = "/problems/invalid-cursor"
    title = "Invalid cursor"
    detail = "The cursor is malformed or was issued for a different query."


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
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        return await _unexpected_error(request, exc)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = None
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(
        exc.status_code, detail=detail, instance=_instance(request), headers=headers
    )


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)

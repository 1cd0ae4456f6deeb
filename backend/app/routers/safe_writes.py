"""Safe writes over HTTP, for any route: ETags and If-None-Match (304), If-Match (412, 428),
and Idempotency-Key (replays, 409, 422). See docs/guides/safe-writes.md.

A route opts in with a line or two, e.g. for a conditional write:

    view = task_service.update_task(..., expected=if_match(request))
    return _json(session, _document(view), **etag_header(view.task.version))

and for a POST that may be retried:

    return idempotent(request, session, current_user.id, task_in, lambda: _create(...))

plus the matching `openapi_extra` parameters and `responses` below for the contract.
"""

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from app import database
from app.core.errors import PreconditionRequired
from app.core.etags import Expected, none_match, parse_if_match, strong_etag, weak_etag
from app.core.idempotency import KEY_PATTERN, parse_idempotency_key, request_fingerprint
from app.models.base import utcnow
from app.schemas.common import problem_responses
from app.services import idempotency as idempotency_service

REPLAYED_HEADER = "Idempotent-Replayed"


def if_match(request: Request) -> Expected:
    """The versions the request's If-Match accepts (None: no condition). Without one, 428
    when REQUIRE_IF_MATCH is on."""
    value = request.headers.get("if-match")
    if value is None and request.app.state.settings.require_if_match:
        raise PreconditionRequired
    return parse_if_match(value)


def etag_header(version: int) -> dict[str, str]:
    return {"ETag": strong_etag(version)}


def not_modified(request: Request, etag: str) -> Response | None:
    """304 with the ETag if the request's If-None-Match matches it, else None."""
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return None


def json_with_weak_etag(request: Request, content: bytes, **headers: str) -> Response:
    """A listing or a count: a weak ETag from the body, 304 if the client has it already."""
    etag = weak_etag(content)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    return Response(content, 200, {**headers, "ETag": etag}, media_type="application/json")


def idempotent(
    request: Request,
    session: Session,
    user_id: uuid.UUID,
    payload: BaseModel | None,
    write: Callable[[], Response],
) -> Response:
    """Run `write` (the route's own work, returning its 2xx response) once per Idempotency-Key.

    Without the header, just `write()`. With it, the key is taken, the write runs and its
    response is stored, all in one transaction (services.idempotency); a retry with the same
    key and request gets the stored response with `Idempotent-Replayed: true`.
    """
    header = request.headers.get("idempotency-key")
    if header is None:
        return write()
    key = parse_idempotency_key(header)
    body = payload.model_dump(mode="json") if payload is not None else None
    fingerprint = request_fingerprint(request.method, request.url.path, body)
    now = utcnow()
    ttl_hours: int = request.app.state.settings.idempotency_ttl_hours
    with database.one_transaction(session):
        stored = idempotency_service.claim_key(
            session=session,
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            not_before=idempotency_service.expiry(now, ttl_hours),
        )
        if stored is not None:
            return _replay(stored)
        response = write()
        idempotency_service.record(
            session=session,
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            response=idempotency_service.StoredResponse(
                response.status_code,
                bytes(response.body),
                response.headers.get("location"),
                response.headers.get("etag"),
            ),
            now=now,
        )
    return response


def _replay(stored: idempotency_service.StoredResponse) -> Response:
    headers = {REPLAYED_HEADER: "true"}
    if stored.location is not None:
        headers["Location"] = stored.location
    if stored.etag is not None:
        headers["ETag"] = stored.etag
    return Response(stored.body, stored.status_code, headers, media_type="application/json")


# The contract: request headers as OpenAPI parameters (for `openapi_extra`), and responses.
_ETAG_HEADER = {
    "description": 'The task\'s version as a strong entity tag, e.g. `"3"`.',
    "schema": {"type": "string"},
}
_WEAK_ETAG_HEADER = {
    "description": "A weak entity tag of this response body, for `If-None-Match`.",
    "schema": {"type": "string"},
}
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        'Write only if the task is still at this version: its `ETag` (`"3"`), or several, '
        "comma-separated. A stale one is a 412 whose body has the current `version`; `*` "
        "matches any version. Required with `REQUIRE_IF_MATCH=true` (428 without it)."
    ),
    "schema": {"type": "string"},
}
IF_NONE_MATCH: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The `ETag` you have: 304 Not Modified, without a body, if it is current.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "A key of your choosing (a UUID), 1 to 255 printable ASCII characters, sent the same "
        "way on every retry. A retry with the same key and request within "
        "`IDEMPOTENCY_TTL_HOURS` gets the first response again (`Idempotent-Replayed: true`) "
        "and writes nothing; the same key with another request is a 422, and while the first "
        "is still running, a 409; a malformed key is a 400."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
}


def merge_responses(*parts: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries combined; the headers of one status from several parts add up."""
    merged: dict[int | str, dict[str, Any]] = {}
    for part in parts:
        for status, entry in part.items():
            current = merged.setdefault(status, {})
            for name, value in entry.items():
                if name == "headers":
                    current.setdefault("headers", {}).update(value)
                else:
                    current[name] = value
    return merged


def etag_responses(status: int) -> dict[int | str, dict[str, Any]]:
    """The route's success response, documented with its strong ETag header."""
    return {status: {"headers": {"ETag": _ETAG_HEADER}}}


def not_modified_responses(status: int, *, weak: bool = False) -> dict[int | str, dict[str, Any]]:
    header = _WEAK_ETAG_HEADER if weak else _ETAG_HEADER
    return {
        status: {"headers": {"ETag": header}},
        304: {"description": "Not modified: If-None-Match names the current ETag."},
    }


def precondition_responses() -> dict[int | str, dict[str, Any]]:
    """412 (with the current ETag) and 428, for a route that honours If-Match."""
    responses = problem_responses(412, 428)
    responses[412]["headers"] = {"ETag": _ETAG_HEADER}
    return responses


def idempotency_responses(status: int) -> dict[int | str, dict[str, Any]]:
    """400 (a malformed key), 409 and 422, and the replay marker, for a POST with a key."""
    responses = problem_responses(400, 409, 422)
    responses[status] = {
        "headers": {
            REPLAYED_HEADER: {
                "description": "`true` on a stored response replayed for an Idempotency-Key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    }
    return responses

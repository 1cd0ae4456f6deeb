"""Calendar feeds: secret iCalendar URLs for calendar apps (issue 20).

The management routes (`/api/v1/calendar/feeds`) need a login or a personal token with
`calendar:manage`. The feed itself (`/calendar/{token}.ics`) takes no Authorization header,
which calendar apps cannot send: the long random token in the path is the credential.
"""

import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.core import rate_limit
from app.core.errors import CalendarFeedNotFound
from app.core.etags import none_match, weak_etag_of_digest
from app.core.icalendar_render import Flavour
from app.dependencies import (
    CurrentUser,
    SessionDep,
    end_transaction,
    enforce_limits,
    require_json,
    require_scope,
)
from app.models import CalendarFeed
from app.models.base import utcnow
from app.routers.safe_writes import IF_NONE_MATCH, merge_responses, not_modified_responses
from app.schemas.calendar_feed import (
    CalendarFeedCreate,
    CalendarFeedCreated,
    CalendarFeedPublic,
    CalendarFlavour,
)
from app.schemas.common import problem_responses
from app.services import calendar as calendar_service
from app.services import calendar_feeds as feed_service

router = APIRouter(tags=["calendar"], responses=problem_responses(503))

MEDIA_TYPE = "text/calendar; charset=utf-8"
# A feed is written to memory up to this size, then to a temporary file: its ETag (a digest
# of the body) must be known before the first byte is sent, and memory stays bounded.
SPOOL_MEMORY = 2 * 1024 * 1024
READ_SIZE = 64 * 1024


def _public(row: CalendarFeed) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "flavour": row.flavour,
        "list_ids": row.list_ids,
        "tags": row.tags,
        "last_four": row.last_four,
        "created_at": row.created_at,
    }


def _feed_uuid(feed_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(feed_id)
    except ValueError as exc:
        raise CalendarFeedNotFound from exc


@router.post(
    "/api/v1/calendar/feeds",
    summary="Create a calendar feed",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarFeedCreated,
    dependencies=[require_scope("calendar:manage"), Depends(require_json)],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
)
def create_calendar_feed(
    feed_in: CalendarFeedCreate, session: SessionDep, current_user: CurrentUser, request: Request
) -> CalendarFeedCreated:
    """Create a secret iCalendar URL of your tasks, optionally of some lists or tags only.
    The response is the only time the URL is shown; only a hash of its token is kept."""
    row, token = feed_service.create_feed(
        session=session,
        user_id=current_user.id,
        name=feed_in.name,
        flavour=feed_in.flavour.value,
        list_ids=feed_in.list_ids,
        tags=feed_in.tags,
    )
    url = str(request.url_for("get_calendar_feed", token=token))
    return CalendarFeedCreated.model_validate({**_public(row), "url": url})


@router.get(
    "/api/v1/calendar/feeds",
    summary="List your calendar feeds",
    response_model=list[CalendarFeedPublic],
    dependencies=[require_scope("calendar:manage")],
    responses=problem_responses(401, 403, 429),
)
def list_calendar_feeds(session: SessionDep, current_user: CurrentUser) -> list[CalendarFeedPublic]:
    """Your calendar feeds, newest first; never their URLs."""
    rows = feed_service.list_feeds(session=session, user_id=current_user.id)
    feeds = [CalendarFeedPublic.model_validate(_public(row)) for row in rows]
    end_transaction(session)
    return feeds


@router.delete(
    "/api/v1/calendar/feeds/{feed_id}",
    summary="Revoke a calendar feed",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("calendar:manage")],
    responses=problem_responses(401, 403, 404, 429),
)
def delete_calendar_feed(feed_id: str, session: SessionDep, current_user: CurrentUser) -> Response:
    """Revoke a feed: its URL answers 404 from now on."""
    feed_service.revoke_feed(session=session, user_id=current_user.id, feed_id=_feed_uuid(feed_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The iCalendar body, as the feeds and the `ics` export (routers.porting) document it.
CALENDAR_CONTENT = {
    "text/calendar": {
        "schema": {"type": "string"},
        "example": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tasks API//Calendar feed//EN\r\n"
        "...\r\nEND:VCALENDAR\r\n",
    }
}


@router.get(
    "/calendar/{token}.ics",
    summary="Read a calendar feed",
    response_class=Response,
    responses=merge_responses(
        {200: {"description": "The feed, as iCalendar (RFC 5545).", "content": CALENDAR_CONTENT}},
        not_modified_responses(200, weak=True),
        problem_responses(404, 422, 429),
    ),
    openapi_extra={"parameters": [IF_NONE_MATCH]},
)
async def get_calendar_feed(
    token: Annotated[str, Path(description="The feed's secret token (`tcf_...`), as in its URL.")],
    request: Request,
    session: SessionDep,
    flavour: Annotated[
        CalendarFlavour | None,
        Query(
            alias="as",
            description="`events`: a VEVENT per dated task (Google Calendar, Outlook); "
            "`todo`: a VTODO per task. Default: the feed's own flavour.",
        ),
    ] = None,
) -> Response:
    """Your tasks as iCalendar, for calendar apps to subscribe to. No Authorization header:
    the secret token in the path is the credential; an unknown or revoked one is a 404.
    Send `If-None-Match` with the last `ETag` to get a 304 when nothing changed."""
    feed, zone = await run_in_threadpool(feed_service.find_feed, session=session, token=token)
    await enforce_limits(
        request, request.app.state.rate_limiter, [(rate_limit.CALENDAR_FEED, str(feed.id))]
    )
    chosen = Flavour((flavour or CalendarFlavour(feed.flavour)).value)
    # Read before the body is rendered: a write in between makes the next poll a 200 again
    # (a newer body under an older tag), never a 304 over a change.
    etag = await run_in_threadpool(_etag, session, feed, zone, chosen)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if none_match(request.headers.get("if-none-match"), etag):
        end_transaction(session)
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    spool = await run_in_threadpool(_render, session, feed, zone, chosen)
    return StreamingResponse(_read(spool), media_type=MEDIA_TYPE, headers=headers)


def _etag(session: Session, feed: CalendarFeed, zone: str, flavour: Flavour) -> str:
    """The weak ETag of the feed as it would render now, without rendering it: what the body
    depends on (feed_service.content_version), the feed's settings, the zone and the day
    (the time-zone definitions span years around today)."""
    version = feed_service.content_version(session=session, user_id=feed.user_id)
    settings = (feed.id, feed.name, feed.list_ids, feed.tags, flavour.value, zone, utcnow().date())
    digest = hashlib.sha256(f"{version}:{settings!r}".encode())
    return weak_etag_of_digest(digest.hexdigest())


def _render(session: Session, feed: CalendarFeed, zone: str, flavour: Flavour) -> IO[bytes]:
    """The whole feed in a spooled file."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - _read closes it
    try:
        for chunk in calendar_service.iter_calendar(
            session=session,
            user_id=feed.user_id,
            zone=zone,
            flavour=flavour,
            name=feed.name,
            list_ids=[uuid.UUID(value) for value in feed.list_ids],
            tags=feed.tags,
        ):
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    end_transaction(session)
    spool.seek(0)
    return spool


def _read(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := spool.read(READ_SIZE):
            yield block
    finally:
        spool.close()

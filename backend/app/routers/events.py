"""GET /api/v1/events: live changes as Server-Sent Events; POST /api/v1/events/ticket.

A thin adapter over the change feed (services.changes): a stream is a cursor that reads the
feed whenever the process's StreamHub (core.stream_hub) says its user changed something, and
renders each entry as an event whose `id` is the feed cursor after it. Reconnecting with
`Last-Event-ID` therefore replays exactly what was missed, from the feed, then goes live.
Between notifications it checks every EVENTS_RECHECK_SECONDS that the caller's session still
stands (from memory when it can), and reads the feed every BACKSTOP_READ_SECONDS anyway (a lost
notification costs latency, never an event).
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.responses import Response

from app.authenticator import Authenticator
from app.core.config import Settings
from app.core.stream_hub import StreamHub, Subscription
from app.database import bind_session_to_user
from app.dependencies import CurrentUser, SessionDep, SettingsDep, authorize_user, end_transaction
from app.routers.changes import READ_FEED
from app.routers.tasks import json_response
from app.schemas.change import EventTicket, FeedCursor
from app.schemas.common import opaque, problem_responses
from app.services import changes as change_service
from app.services import event_tickets as ticket_service
from app.services import users as user_service
from app.services.event_tickets import StreamCredential

router = APIRouter(prefix="/api/v1/events", tags=["sync"], responses=problem_responses(503))

# A page of the feed per read; a stream that is behind reads again at once.
READ_LIMIT = 100
# PostgreSQL: how soon to read again when committed changes wait for an older transaction.
HELD_BACK_RETRY_SECONDS = 0.05
# Without a notification, a stream reads the feed this often anyway (a lost notification costs
# this much latency, never an event). Idle streams are otherwise free of queries.
BACKSTOP_READ_SECONDS = 30.0
Ticket = Annotated[str, opaque(128)]


class EventStream(Response):
    """For the OpenAPI document: the route answers `text/event-stream`."""

    media_type = "text/event-stream"


async def stream_credential(
    request: Request,
    session: SessionDep,
    ticket: Annotated[
        Ticket | None,
        Query(description="A ticket from `POST /api/v1/events/ticket`, for EventSource."),
    ] = None,
) -> StreamCredential:
    """The caller: by a single-use ticket, or by the Authorization header like any route."""
    if ticket is not None:
        credential: StreamCredential = await run_in_threadpool(
            ticket_service.redeem_ticket, session=session, ticket=ticket
        )
        return credential
    caller = await authorize_user(request, session)
    return StreamCredential.of(caller)


@router.post(
    "/ticket",
    summary="Get a ticket for an event stream",
    response_model=EventTicket,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 429),
    dependencies=READ_FEED,
)
def create_event_ticket(session: SessionDep, current_user: CurrentUser) -> Response:
    """A single-use ticket, valid 60 seconds, for `GET /api/v1/events?ticket=...`: a
    browser's EventSource cannot send an Authorization header."""
    ticket = ticket_service.issue_ticket(session=session, caller=current_user)
    body = {"ticket": ticket, "expires_in": ticket_service.TICKET_SECONDS}
    return json_response(session, body, status.HTTP_201_CREATED)


@router.get(
    "",
    summary="Receive your changes live (Server-Sent Events)",
    response_class=EventStream,
    responses={
        200: {
            "description": "A stream of events: `task.created`, `task.updated`, "
            "`task.deleted`, `list.*`, `tag.*`; `data` is the change feed's entry, `id` the "
            "feed cursor after it. A comment every EVENTS_HEARTBEAT_SECONDS.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": (
                        "event: task.created\n"
                        'data: {"type":"object","kind":"task",'
                        '"id":"0b1e6a52-5a8e-4b8e-a0e4-2a7c1f6d9b10","version":1,"data":{}}\n'
                        "id: eyJ2IjoxfQ\n\n: ping\n\n"
                    ),
                }
            },
        },
        **problem_responses(400, 401, 403, 410, 422, 429),
    },
    dependencies=READ_FEED,
)
async def stream_events(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credential: Annotated[StreamCredential, Depends(stream_credential)],
    since: Annotated[
        FeedCursor | None,
        Query(description="Start after this feed cursor (like `Last-Event-ID`)."),
    ] = None,
    last_event_id: Annotated[
        FeedCursor | None,
        Header(description="Sent by EventSource on reconnect: replay from there."),
    ] = None,
) -> Response:
    """Your changes as they happen. Without `Last-Event-ID` (or `since`) from now on; with
    it, first what you missed since that event. Authenticate with the Authorization header
    or a `ticket`. A logout-all or password change closes the stream."""
    user_id = credential.user_id
    resume = last_event_id or since
    position = await run_in_threadpool(
        _start, session, user_id, resume, settings.tombstone_retention_days
    )
    hub: StreamHub = request.app.state.stream_hub
    subscription = hub.open(user_id)
    stream = _events(request, hub, subscription, credential, position, settings)
    return EventSourceResponse(
        stream,
        ping=settings.events_heartbeat_seconds,
        send_timeout=settings.events_send_timeout_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        background=BackgroundTask(hub.close, subscription),
    )


def _start(
    session: Session, user_id: uuid.UUID, resume: str | None, retention_days: int
) -> change_service.Position:
    try:
        if resume is not None:
            # A snapshot page's cursor too: the stream starts where that snapshot started.
            cursor = change_service.decode(resume, user_id=user_id, retention_days=retention_days)
            return cursor.position
        bind_session_to_user(session, user_id)
        return change_service.head(session=session, user_id=user_id)
    finally:
        end_transaction(session)


class _Batch:
    def __init__(self, events: list[ServerSentEvent], position: Any, more: bool, wait: bool):
        self.events = events
        self.position = position
        self.has_more = more
        self.held_back = wait


def _read(
    factory: Callable[[bool], Session],
    credential: StreamCredential,
    position: change_service.Position,
) -> _Batch:
    user_id = credential.user_id
    session = factory(True)
    try:
        bind_session_to_user(session, user_id)
        entries, positions, ops, has_more, held_back = change_service.read_changes(
            session=session,
            user_id=user_id,
            after=position,
            limit=READ_LIMIT,
            kinds=credential.kinds,
            check_held_back=True,
        )
    finally:
        session.close()
    events = [
        ServerSentEvent(
            data=orjson.dumps(entry, option=orjson.OPT_UTC_Z).decode(),
            event=f"{entry['kind']}.{op}",
            id=change_service.stream_cursor(at, user_id),
        )
        for entry, at, op in zip(entries, positions, ops, strict=True)
    ]
    return _Batch(events, positions[-1] if positions else position, has_more, held_back)


def _still_valid(
    factory: Callable[[bool], Session], authenticator: Authenticator, credential: StreamCredential
) -> bool:
    callers = authenticator.callers
    generation = callers.generation
    session = factory(True)
    try:
        bind_session_to_user(session, credential.user_id)
        caller = callers.get(credential.user_id) or user_service.get_caller(
            session=session, user_id=credential.user_id
        )
        if caller is not None:
            # The user's other streams (and requests) check from memory next time.
            callers.put(caller, generation)
        return caller is not None and ticket_service.still_valid(
            session=session, credential=credential, caller=caller
        )
    finally:
        session.close()


async def _events(
    request: Request,
    hub: StreamHub,
    subscription: Subscription,
    credential: StreamCredential,
    position: change_service.Position,
    settings: Settings,
) -> AsyncIterator[ServerSentEvent]:
    factory = request.app.state.session_factory
    authenticator: Authenticator = request.app.state.authenticator
    recheck_every = settings.events_recheck_seconds
    checked_at = read_at = time.monotonic()
    must_read = True
    try:
        while not subscription.closed:
            if must_read:
                # Cleared before the read: a notification that arrives during it is not lost.
                subscription.wake.clear()
                read_at = time.monotonic()
                batch = await run_in_threadpool(_read, factory, credential, position)
                for event in batch.events:
                    yield event
                position = batch.position
                if batch.has_more:
                    continue
            now = time.monotonic()
            timeout = max(0.0, recheck_every - (now - checked_at))
            if batch.held_back:
                timeout = min(timeout, HELD_BACK_RETRY_SECONDS)
            woken = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(), timeout)
                woken = True
            now = time.monotonic()
            # Read when told to, when changes wait for an older transaction, and now and then
            # in case a notification was lost (a listener reconnecting).
            must_read = woken or batch.held_back or now - read_at >= BACKSTOP_READ_SECONDS
            if subscription.recheck or now - checked_at >= recheck_every:
                subscription.recheck = False
                checked_at = now
                if not await _still_valid_now(factory, authenticator, credential):
                    return
    finally:
        hub.close(subscription)


async def _still_valid_now(
    factory: Callable[[bool], Session], authenticator: Authenticator, credential: StreamCredential
) -> bool:
    """From memory when this process knows the account (kept fresh by notifications on
    PostgreSQL, for a second on SQLite) and no personal token is involved; else a query."""
    known = authenticator.callers.get(credential.user_id)
    if known is not None and credential.personal_token_id is None:
        return known.token_version == credential.token_version
    valid: bool = await run_in_threadpool(_still_valid, factory, authenticator, credential)
    return valid

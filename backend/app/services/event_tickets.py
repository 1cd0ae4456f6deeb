"""Event stream tickets and the credentials of open streams.

A browser's EventSource cannot send an Authorization header, and a bearer token in a URL ends
up in logs and history. So `POST /api/v1/events/ticket` (with the header) stores a random
ticket's SHA-256 for 60 seconds, and `GET /api/v1/events?ticket=` redeems it once: a DELETE
... RETURNING, so two requests with one ticket cannot both win, in any process (the row is in
the database, shared by every worker and instance).

A stream lives longer than the check that opened it. `still_valid` is what it asks every
EVENTS_RECHECK_SECONDS: the account still exists, its token_version has not moved (a
logout-all or a password change), and the personal token it came with is not revoked.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from app.core.callers import Caller
from app.core.errors import InvalidTicket
from app.core.scopes import parse_scopes
from app.database import bind_session_to_refresh_token, bind_session_to_user
from app.models import EventTicket, PersonalToken
from app.models.base import utcnow
from app.services import users as user_service
from app.services.changes import ALL_KINDS, readable_kinds
from app.services.idempotency import PURGE_SETTING

TICKET_SECONDS = 60


@dataclass(frozen=True)
class StreamCredential:
    """Who a stream is for, and what must still hold for it to stay open."""

    user_id: uuid.UUID
    token_version: int
    personal_token_id: uuid.UUID | None
    # What the stream shows (services.changes.readable_kinds of the token's scopes).
    kinds: frozenset[str] = ALL_KINDS

    @classmethod
    def of(cls, caller: Caller) -> "StreamCredential":
        kinds = readable_kinds(caller.scopes)
        return cls(caller.id, caller.token_version, caller.personal_token_id, kinds)


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def issue_ticket(*, session: Session, caller: Caller, now: datetime | None = None) -> str:
    """A new ticket for the caller (committed); only its hash is stored."""
    ticket = secrets.token_urlsafe(32)
    session.add(
        EventTicket(
            ticket_hash=_hash(ticket),
            user_id=caller.id,
            token_version=caller.token_version,
            personal_token_id=caller.personal_token_id,
            expires_at=(now or utcnow()) + timedelta(seconds=TICKET_SECONDS),
        )
    )
    session.commit()
    return ticket


def redeem_ticket(
    *, session: Session, ticket: str, now: datetime | None = None
) -> StreamCredential:
    """The credential of a valid ticket, which is used up; InvalidTicket (401) otherwise."""
    ticket_hash = _hash(ticket)
    bind_session_to_refresh_token(session, ticket_hash)
    row = session.execute(
        delete(EventTicket)
        .where(col(EventTicket.ticket_hash) == ticket_hash)
        .returning(
            col(EventTicket.user_id),
            col(EventTicket.token_version),
            col(EventTicket.personal_token_id),
            col(EventTicket.expires_at),
        )
    ).first()
    session.commit()
    if row is None or row.expires_at <= (now or utcnow()):
        raise InvalidTicket
    credential = StreamCredential(row.user_id, row.token_version, row.personal_token_id)
    if not still_valid(session=session, credential=credential, caller=None):
        raise InvalidTicket
    if credential.personal_token_id is None:
        return credential
    bind_session_to_user(session, credential.user_id)
    scopes = session.execute(
        select(col(PersonalToken.scopes)).where(
            col(PersonalToken.id) == credential.personal_token_id,
            col(PersonalToken.user_id) == credential.user_id,
        )
    ).scalar_one()
    session.rollback()
    kinds = readable_kinds(parse_scopes(scopes))
    return StreamCredential(row.user_id, row.token_version, row.personal_token_id, kinds)


def still_valid(*, session: Session, credential: StreamCredential, caller: Caller | None) -> bool:
    """Whether a stream for `credential` may stay open. `caller`: the account as this
    process remembers it (core.callers), or None to read it."""
    try:
        bind_session_to_user(session, credential.user_id)
        if caller is None:
            caller = user_service.get_caller(session=session, user_id=credential.user_id)
        if caller is None or caller.token_version != credential.token_version:
            return False
        if credential.personal_token_id is None:
            return True
        token = session.execute(
            select(col(PersonalToken.id)).where(
                col(PersonalToken.id) == credential.personal_token_id,
                col(PersonalToken.user_id) == credential.user_id,
                col(PersonalToken.revoked_at).is_(None),
                col(PersonalToken.expires_at) > utcnow(),
            )
        ).first()
        return token is not None
    finally:
        if session.in_transaction():
            session.rollback()


def purge_expired_tickets(*, session: Session, before: datetime) -> int:
    """Delete every user's tickets that expired before `before`; how many."""
    with session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.set_config(PURGE_SETTING, before.isoformat(), True)))
        result = session.execute(delete(EventTicket).where(col(EventTicket.expires_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)

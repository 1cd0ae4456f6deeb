"""Event stream tickets: single use, 60 seconds, and what an open stream checks again."""

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.callers import Caller
from app.core.errors import InvalidTicket
from app.models.base import utcnow
from app.services import event_tickets
from app.services.changes import ALL_KINDS
from tests.factories import Account, make_account


def _caller(account: Account, token_version: int = 0) -> Caller:
    return Caller(uuid.UUID(account.id), account.email, "UTC", None, None, token_version)


def test_a_ticket_is_redeemed_once(client: TestClient, session: Session) -> None:
    account = make_account(client)
    ticket = event_tickets.issue_ticket(session=session, caller=_caller(account))
    credential = event_tickets.redeem_ticket(session=session, ticket=ticket)
    assert credential.user_id == uuid.UUID(account.id)
    assert credential.kinds == ALL_KINDS
    with pytest.raises(InvalidTicket):
        event_tickets.redeem_ticket(session=session, ticket=ticket)


def test_a_ticket_expires_after_60_seconds(client: TestClient, session: Session) -> None:
    account = make_account(client)
    issued = utcnow() - timedelta(seconds=61)
    ticket = event_tickets.issue_ticket(session=session, caller=_caller(account), now=issued)
    with pytest.raises(InvalidTicket):
        event_tickets.redeem_ticket(session=session, ticket=ticket)
    fresh = event_tickets.issue_ticket(
        session=session, caller=_caller(account), now=utcnow() - timedelta(seconds=50)
    )
    event_tickets.redeem_ticket(session=session, ticket=fresh)


def test_a_ticket_of_a_revoked_session_is_refused(client: TestClient, session: Session) -> None:
    account = make_account(client)
    ticket = event_tickets.issue_ticket(session=session, caller=_caller(account))
    assert client.post("/api/v1/auth/logout-all", headers=account.headers).status_code == 204
    with pytest.raises(InvalidTicket):
        event_tickets.redeem_ticket(session=session, ticket=ticket)


def test_purge_removes_expired_tickets_only(client: TestClient, session: Session) -> None:
    account = make_account(client)
    old = event_tickets.issue_ticket(
        session=session, caller=_caller(account), now=utcnow() - timedelta(minutes=5)
    )
    kept = event_tickets.issue_ticket(session=session, caller=_caller(account))
    assert event_tickets.purge_expired_tickets(session=session, before=utcnow()) == 1
    with pytest.raises(InvalidTicket):
        event_tickets.redeem_ticket(session=session, ticket=old)
    event_tickets.redeem_ticket(session=session, ticket=kept)

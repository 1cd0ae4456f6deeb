"""Personal access tokens: creation (the token is returned once), listing, revocation, and
the lookup that authenticates a request with one.

Every query takes user_id except `find_grant`, which looks a presented token up by its hash
before its user is known (row-level security admits that one row, see migration 0011).
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.core.errors import PersonalTokenNotFound, TooManyPersonalTokens
from app.core.personal_tokens import (
    LAST_USED_RESOLUTION_SECONDS,
    PersonalGrant,
    hash_personal_token,
    new_personal_token,
)
from app.core.scopes import format_scopes, parse_scopes
from app.database import bind_session_to_personal_token, bind_session_to_user
from app.models import PersonalToken
from app.models.base import utcnow
from app.schemas.personal_token import PersonalTokenCreate

# Unrevoked tokens per user: the listing has no pages, and nobody needs more.
MAX_TOKENS_PER_USER = 100


def create_token(
    *, session: Session, user_id: uuid.UUID, token_in: PersonalTokenCreate
) -> tuple[PersonalToken, str]:
    """A new token for user_id: the row, and the token itself (never stored)."""
    bind_session_to_user(session, user_id)
    held = session.scalar(
        select(func.count())
        .select_from(PersonalToken)
        .where(col(PersonalToken.user_id) == user_id, col(PersonalToken.revoked_at).is_(None))
    )
    if (held or 0) >= MAX_TOKENS_PER_USER:
        session.rollback()
        raise TooManyPersonalTokens
    token = new_personal_token()
    now = utcnow()
    row = PersonalToken(
        user_id=user_id,
        name=token_in.name,
        scopes=format_scopes(token_in.scopes),
        token_hash=hash_personal_token(token),
        last_four=token[-4:],
        created_at=now,
        expires_at=now + timedelta(days=token_in.expires_in_days),
    )
    session.add(row)
    session.commit()
    return row, token


def list_tokens(*, session: Session, user_id: uuid.UUID) -> list[PersonalToken]:
    """The user's unrevoked tokens, newest first (expired ones too: their owner should see
    that they stopped working)."""
    bind_session_to_user(session, user_id)
    rows = session.exec(
        select(PersonalToken)
        .where(col(PersonalToken.user_id) == user_id, col(PersonalToken.revoked_at).is_(None))
        .order_by(col(PersonalToken.created_at).desc(), col(PersonalToken.id).desc())
    ).all()
    return list(rows)


def revoke_token(*, session: Session, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Revoke one of the user's tokens; PersonalTokenNotFound if there is no such unrevoked
    token of theirs. The caller tells this process's authenticator (forget_caller)."""
    bind_session_to_user(session, user_id)
    result = session.execute(
        update(PersonalToken)
        .where(
            col(PersonalToken.id) == token_id,
            col(PersonalToken.user_id) == user_id,
            col(PersonalToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise PersonalTokenNotFound
    session.commit()


def revoke_all_tokens(*, session: Session, user_id: uuid.UUID) -> int:
    """Revoke every token of the user. The caller commits, with the change it belongs to."""
    bind_session_to_user(session, user_id)
    result = session.execute(
        update(PersonalToken)
        .where(col(PersonalToken.user_id) == user_id, col(PersonalToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0))


def find_grant(
    *, session: Session, token_hash: str, now: datetime
) -> tuple[PersonalGrant, datetime | None] | None:
    """The grant of the unrevoked, unexpired token with this hash, and when it was last used;
    None for any other token. Leaves the transaction open (the authenticator ends it)."""
    bind_session_to_personal_token(session, token_hash)
    row = session.exec(
        select(PersonalToken).where(
            col(PersonalToken.token_hash) == token_hash,
            col(PersonalToken.revoked_at).is_(None),
            col(PersonalToken.expires_at) > now,
        )
    ).first()
    if row is None:
        return None
    grant = PersonalGrant(
        token_id=row.id,
        user_id=row.user_id,
        scopes=parse_scopes(row.scopes),
        expires_at=row.expires_at.timestamp(),
    )
    return grant, row.last_used_at


def record_use(*, session: Session, user_id: uuid.UUID, token_id: uuid.UUID, now: datetime) -> None:
    """Set last_used_at, unless it was set less than a minute ago (by any process)."""
    bind_session_to_user(session, user_id)
    session.execute(
        update(PersonalToken)
        .where(
            col(PersonalToken.id) == token_id,
            col(PersonalToken.user_id) == user_id,
            col(PersonalToken.last_used_at).is_(None)
            | (
                col(PersonalToken.last_used_at)
                <= now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
            ),
        )
        .values(last_used_at=now)
    )
    session.commit()

"""Calendar feeds: secret URLs that serve a user's tasks as iCalendar. Creation (the token is
returned once), listing, revocation, and the lookup of a presented token.

Every query takes user_id except `find_feed`, which looks a presented token up by its hash
before its owner is known (row-level security admits that one row, see migration 0017).
"""

import hashlib
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.core.errors import CalendarFeedNotFound, InvalidField, TooManyCalendarFeeds
from app.database import bind_session_to_personal_token, bind_session_to_user
from app.models import CalendarFeed, Change, Reminder, TaskList, User
from app.models.base import utcnow

# Feeds per user: the listing has no pages, and nobody needs more.
MAX_FEEDS_PER_USER = 50
# `tcf_` and the base64url of 32 random bytes: the prefix lets secret scanners recognise a
# leaked feed URL, as `tap_` does for personal tokens.
PREFIX = "tcf_"
RANDOM_BYTES = 32


def new_feed_token() -> str:
    return PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def hash_feed_token(token: str) -> str:
    # As for personal tokens: 256 random bits need no slow hash, and an exact index lookup
    # needs an unsalted one.
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(
    *,
    session: Session,
    user_id: uuid.UUID,
    name: str,
    flavour: str,
    list_ids: Sequence[uuid.UUID],
    tags: Sequence[str],
) -> tuple[CalendarFeed, str]:
    """A new feed of user_id: the row, and its token (never stored). InvalidField for a list
    that is not the user's (missing and foreign alike)."""
    bind_session_to_user(session, user_id)
    held = session.scalar(
        select(func.count()).select_from(CalendarFeed).where(col(CalendarFeed.user_id) == user_id)
    )
    if (held or 0) >= MAX_FEEDS_PER_USER:
        session.rollback()
        raise TooManyCalendarFeeds
    wanted = set(list_ids)
    if wanted:
        owned = set(
            session.exec(
                select(TaskList.id).where(
                    col(TaskList.user_id) == user_id, col(TaskList.id).in_(wanted)
                )
            ).all()
        )
        if owned != wanted:
            session.rollback()
            raise InvalidField("list_ids", "every list must be one of yours")
    token = new_feed_token()
    row = CalendarFeed(
        user_id=user_id,
        name=name,
        token_hash=hash_feed_token(token),
        last_four=token[-4:],
        flavour=flavour,
        list_ids=[str(list_id) for list_id in list_ids],
        tags=list(tags),
        created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return row, token


def list_feeds(*, session: Session, user_id: uuid.UUID) -> list[CalendarFeed]:
    """The user's feeds, newest first."""
    bind_session_to_user(session, user_id)
    rows = session.exec(
        select(CalendarFeed)
        .where(col(CalendarFeed.user_id) == user_id)
        .order_by(col(CalendarFeed.created_at).desc(), col(CalendarFeed.id).desc())
    ).all()
    return list(rows)


def revoke_feed(*, session: Session, user_id: uuid.UUID, feed_id: uuid.UUID) -> None:
    """Delete one of the user's feeds: its URL is a 404 from now on. CalendarFeedNotFound if
    the user has no such feed."""
    bind_session_to_user(session, user_id)
    result = session.execute(
        delete(CalendarFeed).where(
            col(CalendarFeed.id) == feed_id, col(CalendarFeed.user_id) == user_id
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise CalendarFeedNotFound
    session.commit()


def find_feed(*, session: Session, token: str) -> tuple[CalendarFeed, str]:
    """The feed whose token this is, and its owner's time zone; CalendarFeedNotFound for any
    other token. Binds the session to the owner (row-level security) for what follows."""
    token_hash = hash_feed_token(token)
    bind_session_to_personal_token(session, token_hash)
    feed = session.exec(
        select(CalendarFeed).where(col(CalendarFeed.token_hash) == token_hash)
    ).first()
    if feed is None:
        raise CalendarFeedNotFound
    bind_session_to_user(session, feed.user_id)
    zone = session.exec(select(User.timezone).where(col(User.id) == feed.user_id)).first()
    if zone is None:
        raise CalendarFeedNotFound
    return feed, zone


def content_version(*, session: Session, user_id: uuid.UUID) -> str:
    """A digest of everything a feed's body depends on besides the feed itself, read without
    rendering: the user's change log (a row per write to their tasks, lists and tags, made by
    the database's triggers: its count and newest position, so a write that commits late
    still moves the count) and every reminder's timing (reminders are not in the log). A feed
    whose version is unchanged has unchanged bytes, so a poll answered 304 renders nothing.
    The caller adds the feed's own settings, the zone and the day."""
    changes = session.execute(
        select(func.count(), func.max(col(Change.seq))).where(col(Change.user_id) == user_id)
    ).one()
    digest = hashlib.sha256(f"{changes[0]}:{changes[1]}".encode())
    reminders = session.execute(
        select(col(Reminder.id), col(Reminder.at), col(Reminder.before), col(Reminder.time))
        .where(col(Reminder.user_id) == user_id)
        .order_by(col(Reminder.id))
    )
    for row in reminders:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()

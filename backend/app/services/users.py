"""Accounts: registration, authentication, profile changes and deletion."""

import uuid

from pwdlib import PasswordHash
from sqlalchemy import bindparam, delete
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import database
from app.core.callers import Caller
from app.core.errors import (
    EmailTaken,
    InvalidCredentials,
    NotAuthenticated,
    ProviderAccount,
    WrongCurrentPassword,
)
from app.models import User
from app.models.base import utcnow
from app.schemas.user import UserCreate, UserUpdate
from app.services import lists as list_service

# Verified against when the email is unknown, so both failure paths cost one hash check.
_DUMMY_PASSWORD = "dummy password for timing"  # noqa: S105 - not a credential


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_user(*, session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def require_user(*, session: Session, user_id: uuid.UUID) -> User:
    """The signed-in user's full record; 401 if the account went away during the request."""
    user = get_user(session=session, user_id=user_id)
    if user is None:
        raise NotAuthenticated
    return user


_CALLER_SQL = core_select(
    col(User.id),
    col(User.email),
    col(User.timezone),
    col(User.auth_subject),
    col(User.auth_issuer),
    col(User.token_version),
).where(col(User.id) == bindparam("user_id"))


def get_caller(*, session: Session, user_id: uuid.UUID) -> Caller | None:
    """What authenticating a request needs to know about an account (one prebuilt statement,
    not an ORM User: it runs whenever a token's account is not in the cache)."""
    rows = database.run(session, _CALLER_SQL, {"user_id": user_id}, prepare=True)
    return Caller(*rows[0]) if rows else None


def caller_of(user: User) -> Caller:
    return Caller(
        id=user.id,
        email=user.email,
        timezone=user.timezone,
        auth_subject=user.auth_subject,
        auth_issuer=user.auth_issuer,
        token_version=user.token_version,
    )


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(col(User.email) == normalize_email(email))).first()


def _add_with_inbox(session: Session, user: User) -> None:
    """The account and its Inbox, to commit together (an IntegrityError here is the
    account's: a taken email or identity). Row-level security admits the list
    only as the new user's own row, so the session acts as that user from here on."""
    database.bind_session_to_user(session, user.id)
    session.add(user)
    session.flush()  # the account first: the list refers to it
    session.add(list_service.new_inbox(user.id))


def register_user(*, session: Session, user_in: UserCreate, password_hash: PasswordHash) -> User:
    user = User(
        email=normalize_email(user_in.email),
        name=user_in.name,
        hashed_password=password_hash.hash(user_in.password),
    )
    try:
        _add_with_inbox(session, user)
        session.commit()
    except IntegrityError as exc:
        # The unique index decides; a pre-check alone would race with a parallel signup.
        session.rollback()
        raise EmailTaken from exc
    return user


class _DummyHash:
    """One real hash of a throwaway password per hasher, made lazily."""

    def __init__(self) -> None:
        self._hashes: dict[int, str] = {}

    def for_hasher(self, password_hash: PasswordHash) -> str:
        key = id(password_hash)
        if key not in self._hashes:
            self._hashes[key] = password_hash.hash(_DUMMY_PASSWORD)
        return self._hashes[key]


_dummy = _DummyHash()


def authenticate(
    *, session: Session, email: str, password: str, password_hash: PasswordHash
) -> User:
    user = get_user_by_email(session=session, email=email)
    if user is None or user.hashed_password is None:
        # Provider users have no password. Spend the same time as a real check so
        # response timing does not reveal which emails have accounts.
        password_hash.verify(password, _dummy.for_hasher(password_hash))
        raise InvalidCredentials
    valid, new_hash = password_hash.verify_and_update(password, user.hashed_password)
    if not valid:
        raise InvalidCredentials
    # End the read transaction before the writes that follow (a refresh token, maybe a new
    # hash): SQLite in WAL mode cannot upgrade a read snapshot to a write once another
    # connection has written, and fails at once instead of waiting (concurrent logins).
    session.commit()
    if new_hash is not None:
        user.hashed_password = new_hash
        session.add(user)
        session.commit()
    return user


def change_password(
    *,
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    password_hash: PasswordHash,
) -> None:
    """Set a new password after checking the current one. Does not commit: the caller
    revokes the user's sessions in the same transaction."""
    if user.hashed_password is None:
        raise ProviderAccount(
            "This account signs in through an identity provider; change the password there."
        )
    valid, _ = password_hash.verify_and_update(current_password, user.hashed_password)
    if not valid:
        raise WrongCurrentPassword
    user.hashed_password = password_hash.hash(new_password)
    session.add(user)


def get_provider_user(*, session: Session, issuer: str, subject: str) -> User | None:
    return session.exec(
        select(User).where(col(User.auth_issuer) == issuer, col(User.auth_subject) == subject)
    ).first()


def get_or_create_provider_user(
    *, session: Session, issuer: str, subject: str, email: str | None, name: str | None
) -> User:
    """The user for a provider identity, created on first sight.

    Never linked to an existing account by email: the identity is (issuer, sub) alone. An
    email already used by another account is left out rather than shared.
    """
    user = get_provider_user(session=session, issuer=issuer, subject=subject)
    if user is not None:
        return user
    # End the read transaction first: SQLite (WAL) cannot upgrade a read snapshot to a write
    # once another connection has written, and would fail at once instead of waiting.
    session.rollback()
    for candidate_email in (email, None) if email is not None else (None,):
        user = User(
            auth_issuer=issuer,
            auth_subject=subject,
            email=candidate_email,
            name=name,
            hashed_password=None,
        )
        try:
            _add_with_inbox(session, user)
            session.commit()
        except IntegrityError:
            # Either a parallel request created this identity first (use that row), or the
            # email belongs to another account (try again without it).
            session.rollback()
            existing = get_provider_user(session=session, issuer=issuer, subject=subject)
            if existing is not None:
                return existing
            continue
        return user
    raise RuntimeError(f"could not create the provider user {issuer!r} {subject!r}")


def update_user(*, session: Session, user: User, user_in: UserUpdate) -> User:
    changes = user_in.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        user.updated_at = utcnow()
        session.add(user)
        session.commit()
    return user


def delete_user(*, session: Session, user_id: uuid.UUID) -> None:
    # Tasks and refresh tokens go with the account through ON DELETE CASCADE.
    session.execute(delete(User).where(col(User.id) == user_id))
    session.commit()
    list_service.forget_inbox(user_id)


def list_users(*, session: Session, limit: int) -> list[User]:
    """Accounts, oldest first. For operators (the CLI); never exposed over HTTP."""
    return list(session.exec(select(User).order_by(col(User.created_at)).limit(limit)).all())

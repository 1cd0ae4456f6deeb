"""Request dependencies: the database session, the current user and the owned task.

This is the only place where a bearer token is decoded.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pwdlib import PasswordHash
from sqlmodel import Session

from app.core.config import Settings
from app.core.errors import (
    ExpiredProviderToken,
    InvalidProviderToken,
    NotAuthenticated,
    TaskNotFound,
    UnsupportedMediaType,
)
from app.core.provider_tokens import ProviderTokenError, ProviderVerifier
from app.core.security import InvalidTokenError, decode_access_token
from app.database import for_writes
from app.models import Task, User
from app.services import tasks as task_service
from app.services import users as user_service

logger = logging.getLogger("app.auth")

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token must produce our 401 problem, not FastAPI's default.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_password_hash(request: Request) -> PasswordHash:
    password_hash: PasswordHash = request.app.state.password_hash
    return password_hash


_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def serialize_sqlite_writes(request: Request) -> AsyncIterator[None]:
    """On SQLite, one write request at a time per process, queued on the event loop.

    A write transaction holds SQLite's only write lock across several threadpool hops
    (user lookup, task lookup, handler). Writers waiting in busy_timeout inside worker threads
    could occupy the whole threadpool while the lock holder waits for a thread: every one of
    them then fails with "database is locked". Waiting here costs no thread.
    """
    gate: asyncio.Lock | None = getattr(request.app.state, "sqlite_write_gate", None)
    if gate is None or request.method in _READ_ONLY_METHODS:
        yield
        return
    async with gate:
        yield


def get_session(
    request: Request, _gate: Annotated[None, Depends(serialize_sqlite_writes)]
) -> Iterator[Session]:
    engine = request.app.state.engine
    if request.method not in _READ_ONLY_METHODS:
        engine = for_writes(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_provider_verifier(request: Request) -> ProviderVerifier | None:
    verifier: ProviderVerifier | None = request.app.state.provider_verifier
    return verifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordHashDep = Annotated[PasswordHash, Depends(get_password_hash)]
SessionDep = Annotated[Session, Depends(get_session)]
ProviderVerifierDep = Annotated[ProviderVerifier | None, Depends(get_provider_verifier)]


def provider_user(session: Session, verifier: ProviderVerifier, token: str) -> User:
    try:
        claims = verifier.verify(token)
    except ProviderTokenError as exc:
        # The reason is for operators (a wrong AUTH_AUDIENCE shows up here), not for clients.
        logger.info("provider token refused: %s", exc)
        raise (ExpiredProviderToken if exc.expired else InvalidProviderToken) from exc
    return user_service.get_or_create_provider_user(
        session=session,
        issuer=claims.issuer,
        subject=claims.subject,
        email=claims.email,
        name=claims.name,
    )


def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    verifier: ProviderVerifierDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise NotAuthenticated
    # The unverified issuer only picks the verifier; each one checks everything itself.
    if verifier is not None and verifier.handles(token):
        return provider_user(session, verifier, token)
    if not settings.local_accounts_enabled:
        raise NotAuthenticated
    try:
        claims = decode_access_token(token, settings=settings)
    except InvalidTokenError as exc:
        raise NotAuthenticated from exc
    user = user_service.get_user(session=session, user_id=claims.user_id)
    # A deleted account, or one whose tokens were revoked after this one was minted.
    # Provider users never hold a local token.
    if user is None or user.token_version != claims.token_version or user.auth_issuer:
        raise NotAuthenticated
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_owned_task(task_id: str, session: SessionDep, current_user: CurrentUser) -> Task:
    # A malformed id is answered like a missing one: 404, never a 422 that hints at format.
    try:
        parsed = uuid.UUID(task_id)
    except ValueError as exc:
        raise TaskNotFound from exc
    task = task_service.get_task(session=session, user_id=current_user.id, task_id=parsed)
    if task is None:
        raise TaskNotFound
    return task


OwnedTask = Annotated[Task, Depends(get_owned_task)]


def require_json(request: Request) -> None:
    """415 for a body that is not JSON, instead of a confusing validation error."""
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType

"""Request dependencies: the database session, the current user and the owned task.

This is the only place where a bearer token is decoded.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from pwdlib import PasswordHash
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import observability
from app.core import rate_limit
from app.core.config import Settings
from app.core.errors import (
    ExpiredProviderToken,
    InvalidProviderToken,
    NotAuthenticated,
    RateLimited,
    TaskNotFound,
    UnsupportedMediaType,
    is_database_unavailable,
)
from app.core.provider_tokens import ProviderTokenError, ProviderVerifier
from app.core.rate_limit import RateLimiter, account_key
from app.core.security import InvalidTokenError, decode_access_token
from app.database import SessionEngines, bind_session_to_user
from app.middleware.rate_limit_headers import STATE_KEY as RATE_LIMIT_STATE
from app.models import Task
from app.schemas.auth import LoginForm
from app.services import tasks as task_service
from app.services import users as user_service
from app.services.users import Caller

logger = logging.getLogger("app.auth")

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token must produce our 401 problem, not FastAPI's default.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on the
# thread pool, and each such hop costs more than the function itself.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_password_hash(request: Request) -> PasswordHash:
    password_hash: PasswordHash = request.app.state.password_hash
    return password_hash


_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's Session: bound to the read engine for GET/HEAD/OPTIONS, else the write one.

    On SQLite, one write request at a time per process, queued on the event loop. A write
    transaction holds SQLite's only write lock across thread-pool hops; writers waiting in
    busy_timeout inside worker threads could occupy the whole thread pool while the lock
    holder waits for a thread, and every one of them would then fail with "database is
    locked". Waiting here costs no thread. (Part of this dependency rather than one of its
    own: FastAPI solves each dependency on every request.)
    """
    read_only = request.method in _READ_ONLY_METHODS
    gate: asyncio.Lock | None = None if read_only else request.app.state.sqlite_write_gate
    if gate is not None:
        await gate.acquire()
    try:
        engines: SessionEngines = request.app.state.session_engines
        # Opening a Session does no I/O (it connects on first use), so it happens on the
        # event loop. Handlers end their transaction themselves (see end_transaction), so
        # closing is usually I/O-free too; only a transaction left open (an error) is rolled
        # back, over the network, on the thread pool.
        session = Session(engines.read if read_only else engines.write, expire_on_commit=False)
        try:
            yield session
        finally:
            if session.in_transaction():
                await run_in_threadpool(_close_session, session)
            else:
                session.close()
    finally:
        if gate is not None:
            gate.release()


def end_transaction(session: Session) -> None:
    """End a handler's read-only transaction in the handler's own thread.

    Call it after the response body is built: rolling back expires loaded objects. A write
    handler's service has committed already, so this does nothing there.
    """
    session.rollback()


def _close_session(session: Session) -> None:
    try:
        session.close()
    except SQLAlchemyError as exc:
        # Closing rolls back a read-only transaction left open after the handler. If the
        # database went away meanwhile, the answer is already decided (and may be on the wire):
        # raising here would only cut the connection. SQLAlchemy has discarded the connection.
        if not is_database_unavailable(exc):
            raise
        logging.getLogger("app.database").warning(
            "database connection lost while closing a session: %s", type(exc).__name__
        )


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def get_provider_verifier(request: Request) -> ProviderVerifier | None:
    verifier: ProviderVerifier | None = request.app.state.provider_verifier
    return verifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordHashDep = Annotated[PasswordHash, Depends(get_password_hash)]
SessionDep = Annotated[Session, Depends(get_session)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_address(request: Request) -> str:
    # Already the X-Forwarded-For client when the peer is in TRUSTED_PROXIES (see main.py).
    return request.client.host if request.client else "unknown"


def enforce_limits(request: Request, limiter: RateLimiter, checks: list[tuple[str, str]]) -> None:
    """Count this request against each (policy, key); 429 at the first one over quota."""
    if not limiter.enabled:
        return
    states = request.scope.setdefault("state", {}).setdefault(RATE_LIMIT_STATE, [])
    for policy, key in checks:
        state = limiter.hit(policy, key)
        if state is None:
            continue
        states.append(state)
        if state.exceeded:
            observability.record_rate_limited(policy)
            raise RateLimited(retry_after=state.reset)


def limit_login(
    request: Request,
    form: Annotated[LoginForm, Depends()],
    limiter: RateLimiterDep,
) -> None:
    """Login attempts per client address, then per account."""
    # The address limit is checked first so a flood from one address does not also use up
    # the victim account's budget.
    enforce_limits(
        request,
        limiter,
        [
            (rate_limit.LOGIN_ADDRESS, client_address(request)),
            (rate_limit.LOGIN_ACCOUNT, account_key(form.username)),
        ],
    )


def limit_register(request: Request, limiter: RateLimiterDep) -> None:
    enforce_limits(request, limiter, [(rate_limit.REGISTER_ADDRESS, client_address(request))])


ProviderVerifierDep = Annotated[ProviderVerifier | None, Depends(get_provider_verifier)]


def provider_user(session: Session, verifier: ProviderVerifier, token: str) -> Caller:
    try:
        claims = verifier.verify(token)
    except ProviderTokenError as exc:
        # The reason is for operators (a wrong AUTH_AUDIENCE shows up here), not for clients.
        logger.info("provider token refused: %s", exc)
        raise (ExpiredProviderToken if exc.expired else InvalidProviderToken) from exc
    user = user_service.get_or_create_provider_user(
        session=session,
        issuer=claims.issuer,
        subject=claims.subject,
        email=claims.email,
        name=claims.name,
    )
    return user_service.caller_of(user)


def authenticate(
    session: Session, settings: Settings, verifier: ProviderVerifier | None, token: str | None
) -> Caller:
    """The user a bearer token belongs to, checked against the database; else 401."""
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
    # The signature vouches for the id, so row-level security can be scoped to it before the
    # first query: the transaction then starts with its settings in one round trip. If the
    # account turns out to be gone or revoked, nothing else is read.
    bind_session_to_user(session, claims.user_id)
    caller = user_service.caller_for_token(
        session=session, user_id=claims.user_id, token_version=claims.token_version
    )
    if caller is None:  # deleted, revoked since, or a provider account
        raise NotAuthenticated
    return caller


def authorize_user(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    """The authenticated caller, counted against the per-user rate limit, with the request's
    database session scoped to them by PostgreSQL row-level security.

    One dependency doing all of it: FastAPI runs each plain-`def` dependency on its own
    thread-pool hop, and app-wide objects come from app.state rather than sub-dependencies.
    """
    state = request.app.state
    current_user = authenticate(session, state.settings, state.provider_verifier, token)
    enforce_limits(request, state.rate_limiter, [(rate_limit.USER, str(current_user.id))])
    bind_session_to_user(session, current_user.id)
    return current_user


CurrentUser = Annotated[Caller, Depends(authorize_user)]


def limit_password_attempts(
    request: Request, limiter: RateLimiterDep, current_user: CurrentUser
) -> None:
    # Guessing the current password with a stolen access token shares the login budget.
    account = account_key(current_user.email) if current_user.email else str(current_user.id)
    enforce_limits(request, limiter, [(rate_limit.LOGIN_ACCOUNT, account)])


def task_uuid(task_id: str) -> uuid.UUID:
    """A task id from the path. A malformed one is answered like a missing one: 404, never
    a 422 that hints at the format."""
    try:
        return uuid.UUID(task_id)
    except ValueError as exc:
        raise TaskNotFound from exc


# A plain path parameter, parsed by the handler (task_uuid) in its own thread-pool hop: as a
# dependency of its own it would cost FastAPI a dependency to solve on every request. So a
# request without a valid token gets its 401 before the id is looked at.
TaskId = Annotated[str, Path()]


def get_owned_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Task:
    task = task_service.get_task(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    if task is None:
        raise TaskNotFound
    return task


OwnedTask = Annotated[Task, Depends(get_owned_task)]


async def require_json(request: Request) -> None:
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

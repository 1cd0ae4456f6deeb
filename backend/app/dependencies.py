"""Request dependencies: the database session, the current user and the owned task.

This is the only place where a bearer token is decoded.
"""

import logging
import uuid
from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer
from pwdlib import PasswordHash
from pydantic import ValidationError
from sqlmodel import Session

from app import observability
from app.authenticator import Authenticator
from app.core import rate_limit
from app.core.callers import Caller
from app.core.config import Settings
from app.core.errors import (
    InsufficientScope,
    NotAuthenticated,
    PersonalTokenRefused,
    RateLimited,
    TaskNotFound,
    UnsupportedMediaType,
)
from app.core.rate_limit import RateLimiter, account_key
from app.core.scopes import SCOPES
from app.database import bind_session_to_user, commits_held
from app.middleware.rate_limit_headers import STATE_KEY as RATE_LIMIT_STATE
from app.models import Task
from app.request_session import STATE_KEY as SESSION_STATE_KEY
from app.request_session import RequestSession
from app.schemas.common import NO_NUL
from app.schemas.task_query import REPEATABLE, TaskQuery
from app.services import tasks as task_service

logger = logging.getLogger("app.auth")

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token must produce our 401 problem, not FastAPI's default.
# The scopes are listed for the OpenAPI document; a login grants them all.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, scopes=SCOPES, auto_error=False)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on the
# thread pool, and each such hop costs more than the function itself.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_password_hash(request: Request) -> PasswordHash:
    password_hash: PasswordHash = request.app.state.password_hash
    return password_hash


async def get_session(request: Request) -> Session:
    """The request's Session (see middleware.db_session, which closes it): bound to the
    read engine for GET/HEAD/OPTIONS, else the write one."""
    request_session: RequestSession = request.scope["state"][SESSION_STATE_KEY]
    return await request_session.open()


def end_transaction(session: Session) -> None:
    """End a handler's read-only transaction in the handler's own thread.

    Call it after the response body is built: rolling back expires loaded objects. A write
    handler's service has committed already, so this does nothing there; nor inside
    database.one_transaction(), whose block ends the transaction.
    """
    if not commits_held(session):
        session.rollback()


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordHashDep = Annotated[PasswordHash, Depends(get_password_hash)]
SessionDep = Annotated[Session, Depends(get_session)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_address(request: Request) -> str:
    # Already the X-Forwarded-For client when the peer is in TRUSTED_PROXIES (see main.py).
    return request.client.host if request.client else "unknown"


async def enforce_limits(
    request: Request, limiter: RateLimiter, checks: list[tuple[str, str]], cost: int = 1
) -> None:
    """Count this request (as `cost` requests: a batch) against each (policy, key); 429 at
    the first one over quota."""
    if not limiter.enabled:
        return
    if limiter.blocking:
        states = await run_in_threadpool(limiter.hit_each, checks, cost)
    else:
        states = limiter.hit_each(checks, cost)
    recorded = request.scope.setdefault("state", {}).setdefault(RATE_LIMIT_STATE, [])
    # A policy counted again (a batch's operations) is reported once, as it stands now.
    counted_again = {state.policy for state in states}
    recorded[:] = [state for state in recorded if state.policy not in counted_again] + states
    for state in states:
        if state.exceeded:
            observability.record_rate_limited(state.policy)
            raise RateLimited(retry_after=state.reset)


# Longer values are refused before any password hashing.
MAX_USERNAME = 320
MAX_PASSWORD = 128


class LoginForm:
    """The OAuth2 password grant's form (RFC 6749, 4.3.2), as the server reads it.

    FastAPI's OAuth2PasswordRequestForm would publish its optional fields as nullable, which a
    form cannot send (a fuzzer sends the text `null`, refused by the `grant_type` pattern), and
    an empty `username` or `password`, which FastAPI reads as missing, as valid. The limits on
    length and characters are the server's own.
    """

    def __init__(
        self,
        *,
        username: Annotated[
            str,
            Form(
                min_length=1,
                max_length=MAX_USERNAME,
                # Looked up in the database, which cannot take NUL (PostgreSQL refuses it).
                pattern=NO_NUL.regex,
                description="Your email address.",
            ),
        ],
        password: Annotated[
            str,
            Form(min_length=1, max_length=MAX_PASSWORD, json_schema_extra={"format": "password"}),
        ],
        # FastAPI reads an empty form field as an absent one, so "" is a grant type too.
        grant_type: Annotated[
            str, Form(pattern="^(password)?$", description="`password`, or empty, or absent.")
        ] = "password",
        scope: Annotated[str, Form(description="Ignored: a token grants every scope.")] = "",
        client_id: Annotated[str, Form(description="Ignored.")] = "",
        client_secret: Annotated[
            str, Form(description="Ignored.", json_schema_extra={"format": "password"})
        ] = "",
    ) -> None:
        self.username = username
        self.password = password


async def limit_login(
    request: Request,
    form: Annotated[LoginForm, Depends()],
    limiter: RateLimiterDep,
) -> None:
    """Login attempts per client address, then per account."""
    # The address limit is checked first so a flood from one address does not also use up
    # the victim account's budget.
    await enforce_limits(
        request,
        limiter,
        [
            (rate_limit.LOGIN_ADDRESS, client_address(request)),
            (rate_limit.LOGIN_ACCOUNT, account_key(form.username)),
        ],
    )


async def limit_register(request: Request, limiter: RateLimiterDep) -> None:
    await enforce_limits(request, limiter, [(rate_limit.REGISTER_ADDRESS, client_address(request))])


async def authorize_user(request: Request, session: SessionDep) -> Caller:
    """The authenticated caller, counted against the per-user rate limit, with the request's
    database session scoped to them by PostgreSQL row-level security.

    A token seen before, whose account this process knows, is checked from memory on the
    event loop (app.authenticator); otherwise the check (a signature, maybe a query) runs on
    a worker thread. The handler's own statement then carries the row-level security
    settings (database.run): most requests make one round trip to the database in all.

    A personal access token must have the scope the route declares (`require_scope`); a
    route that declares none, or only `login_required`, refuses it.
    """
    # Read here rather than through `Depends(oauth2_scheme)`: the scheme is what routes
    # declare their scope with, and FastAPI keys a dependency on it by those scopes.
    token = await oauth2_scheme(request)
    if not token:
        raise NotAuthenticated
    authenticator: Authenticator = request.app.state.authenticator
    current_user = authenticator.cached(token)
    if current_user is None:
        current_user = await run_in_threadpool(authenticator.authenticate, session, token)
    await enforce_limits(
        request, request.app.state.rate_limiter, [(rate_limit.USER, str(current_user.id))]
    )
    if current_user.personal_token_id is not None:
        _check_personal_access(request, current_user)
    bind_session_to_user(session, current_user.id)
    if authenticator.use_due(current_user):  # a personal token, at most once a minute
        await run_in_threadpool(authenticator.record_use, session, current_user)
    return current_user


CurrentUser = Annotated[Caller, Depends(authorize_user)]


def require_scope(scope: str) -> Any:
    """The scope a route needs, e.g. `dependencies=[require_scope("tasks:read")]` on the
    route or its router: a personal access token without it gets 403 insufficient_scope; a
    login or provider token has every scope. The OpenAPI document shows it as the scope of
    the operation's security requirement.

    It is the OAuth2 scheme with the scope, which is how FastAPI puts scopes in the document;
    `authorize_user` reads it from the route (route_access), so the check costs no
    dependency of its own on the request path."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return Security(oauth2_scheme, scopes=[scope])


def login_required() -> Any:
    """For what only the owner may do (tokens, password, logout-all, the account itself):
    a personal access token gets 403 whatever its scopes. In the OpenAPI document: a
    security requirement with no scopes."""
    return Security(oauth2_scheme)


def _check_personal_access(request: Request, caller: Caller) -> None:
    required = route_access(request)
    if required is None:
        # Fail closed: a route that declares no scope is not for personal tokens
        # (tests/test_scopes.py fails for such a route before it ships).
        logger.error("route %s declares no scope; personal token refused", request.url.path)
        raise PersonalTokenRefused
    if not required:
        raise PersonalTokenRefused
    for scope in required:
        if not caller.allows(scope):
            raise InsufficientScope(scope)


def _declared_scopes(dependant: Dependant) -> tuple[str, ...] | None:
    """The scopes of every `require_scope` / `login_required` in the tree: None if there is
    none, () for logins only."""
    found: tuple[str, ...] | None = None
    for sub in dependant.dependencies:
        if sub.call is oauth2_scheme:
            found = (*(found or ()), *(sub.own_oauth_scopes or []))
        below = _declared_scopes(sub)
        if below is not None:
            found = (*(found or ()), *below)
    return found


_ACCESS_ATTRIBUTE = "tasks_api_scopes"
_UNKNOWN = ("?",)


def route_access(request: Request) -> tuple[str, ...] | None:
    """What the matched route declares: its scopes, () for logins only, None for nothing.
    Found once per route, then kept on it (routes are not hashable, so not in a cache)."""
    route = request.scope.get("route")
    if route is None:
        return None
    access: tuple[str, ...] | None = getattr(route, _ACCESS_ATTRIBUTE, _UNKNOWN)
    if access is _UNKNOWN:
        dependant = getattr(route, "dependant", None)
        access = None if dependant is None else _declared_scopes(dependant)
        setattr(route, _ACCESS_ATTRIBUTE, access)
    return access


def forget_caller(request: Request, user_id: uuid.UUID) -> None:
    """After a change to the account has committed (password, logout-all, time zone,
    deletion): this process stops trusting what it remembered at once; the others hear of it
    through the database (migration 0009's NOTIFY)."""
    authenticator: Authenticator = request.app.state.authenticator
    authenticator.forget(user_id)
    # And the user's open event streams check their session at once (a revocation ends them).
    request.app.state.stream_hub.notify(user_id, recheck=True)


async def limit_password_attempts(
    request: Request, limiter: RateLimiterDep, current_user: CurrentUser
) -> None:
    # Guessing the current password with a stolen access token shares the login budget.
    account = account_key(current_user.email) if current_user.email else str(current_user.id)
    await enforce_limits(request, limiter, [(rate_limit.LOGIN_ACCOUNT, account)])


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


async def task_query(request: Request) -> TaskQuery:
    """The listing's filters, sort and page from the query string.

    Parsed here rather than by declaring `Annotated[TaskQuery, Query()]`: FastAPI re-inspects
    every field's annotation on every request for that, about 0.1 ms per listing. The route
    documents the same parameters (schemas.task_query.query_parameters) and errors come out
    as FastAPI's would: a 422 naming `query` and the parameter.
    """
    params = request.query_params
    data = {
        name: params.getlist(name) if name in REPEATABLE else params[name]
        for name in params.keys()  # noqa: SIM118 - a multi-dict: keys() is each name once
    }
    try:
        return TaskQuery.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        ) from exc


TaskQueryDep = Annotated[TaskQuery, Depends(task_query)]


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

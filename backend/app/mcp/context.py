"""What the MCP server shares with the REST app: its sessions, authenticator and rate limiter.

Over HTTP these are the app's own (`app.state`), so both protocols count against the same
limits and remember the same tokens; `tasks-api mcp --stdio` builds the same objects the app
would (see app.cli).
"""

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import anyio.to_thread
from sqlmodel import Session

from app import observability
from app.authenticator import Authenticator
from app.core import rate_limit
from app.core.callers import Caller
from app.core.errors import RateLimited
from app.core.rate_limit import RateLimiter
from app.database import bind_session_to_user
from app.middleware.rate_limit_headers import STATE_KEY as RATE_LIMIT_STATE
from app.request_session import RequestSession, SessionFactory

T = TypeVar("T")


class Backend:
    """The app's state (app.main.create_app), read at each use: tests, for one, replace its
    session factory after the app is made."""

    def __init__(self, state: Any) -> None:
        self._state = state

    @property
    def session_factory(self) -> SessionFactory:
        factory: SessionFactory = self._state.session_factory
        return factory

    @property
    def sqlite_write_gate(self) -> asyncio.Lock | None:
        gate: asyncio.Lock | None = self._state.sqlite_write_gate
        return gate

    @property
    def authenticator(self) -> Authenticator:
        authenticator: Authenticator = self._state.authenticator
        return authenticator

    @property
    def rate_limiter(self) -> RateLimiter:
        limiter: RateLimiter = self._state.rate_limiter
        return limiter

    async def authenticate(self, token: str) -> Caller:
        """The caller a bearer token stands for, checked exactly as the REST dependency
        checks it (dependencies.authorize_user): from memory when the token and account are
        known, else verified and read on a worker thread. NotAuthenticated otherwise."""
        caller = self.authenticator.cached(token)
        if caller is not None:
            return caller
        # A session of its own, closed at once: the tool that follows opens its own, and on
        # SQLite a write session holds the process's write gate while it is open.
        request_session = RequestSession(
            self.session_factory, read_only=False, gate=self.sqlite_write_gate
        )
        try:
            session = await request_session.open()
            return await anyio.to_thread.run_sync(self.authenticator.authenticate, session, token)
        finally:
            await request_session.close()

    async def count_call(
        self, caller: Caller, http_state: MutableMapping[str, Any] | None = None
    ) -> None:
        """One tool call or resource read counts as one request against the caller's
        per-user limit, the REST one (dependencies.enforce_limits); RateLimited when over.
        Over HTTP the counts also go on the response's RateLimit headers."""
        limiter = self.rate_limiter
        if not limiter.enabled:
            return
        checks = [(rate_limit.USER, str(caller.id))]
        if limiter.blocking:
            states = await anyio.to_thread.run_sync(limiter.hit_each, checks)
        else:
            states = limiter.hit_each(checks)
        if http_state is not None:
            http_state.setdefault(RATE_LIMIT_STATE, []).extend(states)
        for state in states:
            if state.exceeded:
                observability.record_rate_limited(state.policy)
                raise RateLimited(retry_after=state.reset)

    async def run(self, caller: Caller, *, writes: bool, work: Callable[[Session], T]) -> T:
        """`work(session)` on a worker thread, with a session of its own that row-level
        security scopes to the caller: the write engine (and SQLite's write gate) only for
        tools that write, as REST does for its methods."""
        request_session = RequestSession(
            self.session_factory, read_only=not writes, gate=self.sqlite_write_gate
        )
        try:
            session = await request_session.open()
            return await anyio.to_thread.run_sync(_run_bound, session, caller, work)
        finally:
            await request_session.close()


def _run_bound(session: Session, caller: Caller, work: Callable[[Session], T]) -> T:
    bind_session_to_user(session, caller.id)
    result = work(session)
    # A read leaves its transaction open; end it in this thread (dependencies.end_transaction).
    if session.in_transaction():
        session.rollback()
    return result

"""The request's database Session: opened on first use (the SessionDep dependency), closed
when the response is done, by an ASGI middleware of its own.

A middleware rather than a `yield` dependency: FastAPI runs every generator dependency
inside an exit stack and cancel scopes, which cost about 7% of a task request's CPU, more
than the Session itself. It lives here, not in app/middleware (which knows no database).

On SQLite, write requests take a per-process gate before they open their Session, one at a
time, queued on the event loop. A write transaction holds SQLite's only write lock across
thread-pool hops; writers waiting in busy_timeout inside worker threads could occupy the whole
thread pool while the lock holder waits for a thread, and every one of them would then fail
with "database is locked". Waiting here costs no thread.
"""

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import is_database_unavailable

STATE_KEY = "database_session"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# read_only -> a new Session; app.state.session_factory (tests bind it to their connection).
SessionFactory = Callable[[bool], Session]

logger = logging.getLogger("app.database")


class RequestSession:
    def __init__(self, factory: SessionFactory, read_only: bool, gate: asyncio.Lock | None) -> None:
        self._factory = factory
        self._read_only = read_only
        self._gate = gate
        self._gate_held = False
        self.session: Session | None = None

    async def open(self) -> Session:
        if self.session is None:
            if self._gate is not None and not self._read_only:
                await self._gate.acquire()
                self._gate_held = True
            self.session = self._factory(self._read_only)
        return self.session

    async def close(self) -> None:
        try:
            session = self.session
            if session is None:
                return
            # Handlers end their transaction themselves (dependencies.end_transaction), so
            # closing is usually I/O-free; only a transaction left open (an error) is rolled
            # back, over the network, on the thread pool.
            if session.in_transaction():
                await run_in_threadpool(_close, session)
            else:
                session.close()
        finally:
            if self._gate_held and self._gate is not None:
                self._gate.release()


def _close(session: Session) -> None:
    try:
        session.close()
    except SQLAlchemyError as exc:
        # Closing rolls back a transaction left open after the handler. If the database went
        # away meanwhile, the answer is already decided (and may be on the wire): raising here
        # would only cut the connection. SQLAlchemy has discarded the connection.
        if not is_database_unavailable(exc):
            raise
        logger.warning("database connection lost while closing a session: %s", type(exc).__name__)


class DatabaseSessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        request_session = RequestSession(
            state.session_factory,
            read_only=scope["method"] in READ_ONLY_METHODS,
            gate=state.sqlite_write_gate,
        )
        scope.setdefault("state", {})[STATE_KEY] = request_session
        try:
            await self.app(scope, receive, send)
        finally:
            await request_session.close()

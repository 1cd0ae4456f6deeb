"""The app factory: settings, database, routers, middleware and error handlers."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlmodel import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import live_updates, migrate, notifications, observability
from app.authenticator import Authenticator
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.provider_tokens import ProviderVerifier
from app.core.rate_limit import RateLimiter
from app.core.security import make_password_hash
from app.core.ssrf import system_resolver
from app.core.stream_hub import StreamHub
from app.database import create_db_engine, rls_bypass_reason, session_engines
from app.jobs.runner import JobRunner, server_jobs
from app.jobs.webhook_delivery import DeliveryWorker
from app.mcp import http as mcp_http
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.json_depth import JsonDepthMiddleware
from app.middleware.observability import ObservabilityMiddleware
from app.middleware.rate_limit_headers import RateLimitHeadersMiddleware
from app.middleware.request_id import RequestIdMiddleware
from app.middleware.security_headers import SecurityHeadersMiddleware
from app.openapi import BEARER_SCHEME as BEARER_SCHEME_NAME
from app.openapi import TasksAPI, refine
from app.request_session import DatabaseSessionMiddleware
from app.routers import (
    auth,
    batch,
    calendar,
    changes,
    compat,
    docs,
    events,
    health,
    lists,
    metrics,
    porting,
    recurrence,
    reminders,
    tags,
    task_order,
    tasks,
    tokens,
    trash,
    users,
    webhooks,
)
from app.services.outbox import SUBSCRIBERS, WEBHOOKS_CHANNEL

logger = logging.getLogger("app.main")

API_DESCRIPTION = """\
A secure, user-isolated task API. Register, get a token from `/api/v1/auth/token`
(or use **Authorize** above), then manage your tasks. Every error is an RFC 9457
`application/problem+json` document.
"""

TAGS = [
    {"name": "auth", "description": "Accounts and tokens: register, log in, refresh, log out."},
    {"name": "users", "description": "The signed-in user's own profile."},
    {
        "name": "tokens",
        "description": "Personal access tokens with scopes, for scripts and other services.",
    },
    {"name": "tasks", "description": "Your tasks. Other users' tasks do not exist for you."},
    {"name": "tags", "description": "Your tags, created on the fly from task `tags`."},
    {"name": "lists", "description": "Your lists. Every task is in one; new ones in the Inbox."},
    {"name": "trash", "description": "Deleted tasks: restore them or delete them for good."},
    {
        "name": "reminders",
        "description": "Reminders of your tasks: at a moment, or before the due.",
    },
    {
        "name": "webhooks",
        "description": "Be told of changes: signed HTTP callbacks, and their deliveries.",
    },
    {
        "name": "sync",
        "description": "Stay in sync: the change feed and live events (Server-Sent Events).",
    },
    {
        "name": "calendar",
        "description": "Secret iCalendar feed URLs of your tasks, for calendar apps.",
    },
    {
        "name": "portability",
        "description": "Your whole account out as a file (export), and files from here or "
        "other apps in (import).",
    },
    {"name": "health", "description": "Liveness and readiness probes."},
    {"name": compat.TAG, "description": compat.TAG_DESCRIPTION},
]
# Response headers a page on another origin may read (CORS hides all others).
EXPOSED_HEADERS = [
    "Location",
    "Link",
    "X-Request-ID",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "WWW-Authenticate",
    # Safe writes: the version to send back in If-Match, and the replay marker.
    "ETag",
    "Idempotent-Replayed",
]
# Request headers a page on another origin may send (each needs the preflight's consent).
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Request-ID",
    # What browser-based MCP clients send to /mcp.
    "MCP-Protocol-Version",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    # Sent by EventSource when it reconnects to GET /api/v1/events.
    "Last-Event-ID",
]
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

SERVERS = [
    # Relative: "Try it out" calls whichever host and port served the page.
    {"url": "/", "description": "This server"},
    {"url": "http://127.0.0.1:8000", "description": "Local development (`make run`)"},
]


def operation_id(route: APIRoute) -> str:
    """`list_tasks` -> `listTasks`: stable, readable names for generated clients."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or create_db_engine(settings)
    verifier = ProviderVerifier.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.should_auto_migrate:
            migrate.upgrade(settings.database_url)
        else:
            migrate.check_up_to_date(engine)
        reason = rls_bypass_reason(engine)
        if reason:
            logger.warning(
                "row-level security is NOT enforced: %s; run the API as a role without "
                "SUPERUSER or BYPASSRLS (see docs/guides/postgresql.md)",
                reason,
            )
        # Prefetch so the first request does not wait; a provider that is down now is
        # tried again on the first unknown kid (bounded by the fetch timeout).
        jwks = verifier.jwks if verifier is not None else None
        if jwks is not None and not await anyio.to_thread.run_sync(jwks.refresh):
            logger.warning("provider keys unavailable at start-up: %s", jwks.url)
        listener = account_listener(settings, authenticator, hub, changes=fanout == "notify")
        if listener is not None:
            listener.start()
        poller = relay = None
        if fanout == "poll":
            poller = asyncio.create_task(
                live_updates.poll_sqlite(engine, hub, settings.events_poll_seconds)
            )
        elif fanout == "redis" and settings.redis_url:
            relay = live_updates.RedisRelay(
                settings.redis_url, engine, hub, settings.events_poll_seconds
            )
            relay.start()
        # Purges (issue 16, 17) and reminders (issue 19, unless REMINDER_SCHEDULER_ENABLED=false:
        # `tasks-api worker` runs them apart); webhook deliveries (issue 21, unless
        # WEBHOOK_WORKER_ENABLED=false).
        jobs = JobRunner(server_jobs(settings, engine))
        jobs.start()
        worker = None
        if settings.webhook_worker_enabled:
            resolver = getattr(app.state, "webhook_resolver", system_resolver)
            worker = DeliveryWorker(engine, settings, resolver=resolver)
            worker.start()
        async with mcp_running():
            yield
        hub.close_all()
        if poller is not None:
            poller.cancel()
        if relay is not None:
            await anyio.to_thread.run_sync(relay.stop)
        if worker is not None:
            worker.stop()
        await anyio.to_thread.run_sync(jobs.stop)
        if listener is not None:
            listener.stop()
        app.state.rate_limiter.close()
        engine.dispose()

    app = TasksAPI(
        title="Tasks API",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        servers=SERVERS,
        # Served by app.routers.docs from vendored files instead of a CDN.
        docs_url=None,
        redoc_url=None,
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.engine = engine
    engines = session_engines(engine)

    def new_session(read_only: bool) -> Session:
        return Session(engines.read if read_only else engines.write, expire_on_commit=False)

    app.state.session_factory = new_session
    observability.track_engine(engine)
    app.state.sqlite_write_gate = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    app.state.password_hash = make_password_hash(settings)
    app.state.rate_limiter = RateLimiter(settings)
    authenticator = Authenticator(settings, verifier)
    app.state.authenticator = authenticator
    hub = StreamHub(
        max_per_user=settings.events_max_streams_per_user,
        max_streams=settings.events_max_streams,
    )
    app.state.stream_hub = hub
    fanout = live_updates.fanout(settings)
    observability.track_stream_hub(hub)

    install_error_handlers(app)
    # Each add_middleware wraps the previous ones: the last added runs first.
    app.add_middleware(DatabaseSessionMiddleware)
    app.add_middleware(
        JsonDepthMiddleware,
        max_depth=settings.max_json_depth,
        skip_paths=frozenset({porting.IMPORT_PATH}),
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits={porting.IMPORT_PATH: settings.import_max_bytes},
    )
    if settings.cors_origins:
        # Bearer tokens travel in a header, never a cookie: credentials stay off, so even
        # a wildcard origin (refused in production) cannot make a browser send cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs.DOCS_PATHS)
    if settings.trusted_proxies:
        # Only these peers may say who the client is (X-Forwarded-For); the rate limits
        # key on that address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Added last, so outermost: every response, even a 413 from the limit, gets an id.
    # Just inside the request id: sees every response, and the id is already known.
    app.add_middleware(ObservabilityMiddleware)
    app.add_middleware(RequestIdMiddleware)

    # A request is matched against the routes in this order, each tried in turn at a few
    # microseconds apiece (FastAPI keeps every included router whole and walks it): the
    # busiest first. Health probes come often and have two routes; then the tasks.
    for module in (
        health,
        tasks,
        task_order,
        batch,
        changes,
        events,
        recurrence,
        reminders,
        lists,
        tags,
        trash,
        users,
        tokens,
        webhooks,
        calendar,
        porting,
        docs,
        metrics,
    ):
        app.include_router(module.router)
    if settings.local_accounts_enabled:
        app.include_router(auth.router)
    # After /api/v1, so that /api/v1/tasks is never read as the tasks of a user called "v1".
    if settings.compat_routes_enabled:
        app.include_router(compat.router)
    mcp_running: Callable[[], AbstractAsyncContextManager[None]] = nullcontext
    if settings.mcp_enabled:
        # Last: the REST routes are matched first, so they pay nothing for it.
        mcp = mcp_http.create_endpoint(app.state)
        mcp_running = mcp.run
        app.include_router(mcp_http.metadata_router)
        app.router.routes.append(mcp_http.McpRoute(mcp))
    if not settings.local_accounts_enabled:
        _document_bearer_only(app)
    app.mount("/static", StaticFiles(directory=docs.STATIC_DIR), name="static")
    return app


def account_listener(
    settings: Settings,
    authenticator: Authenticator,
    hub: StreamHub | None = None,
    *,
    changes: bool = True,
) -> notifications.Listener | None:
    """On PostgreSQL, a listener that makes every account change reach this process's
    authentication cache (see core.callers), every webhook change its outbox cache
    (services.outbox.SUBSCRIBERS), and every change of tasks, lists and tags the event
    streams of its user (app.live_updates); None where notifications cannot arrive."""
    url = settings.database_listen_url or settings.database_url
    if settings.is_sqlite:
        return None
    if notifications.behind_neon_pooler(url):
        logger.warning(
            "DATABASE_URL is a Neon pooler, which cannot LISTEN: set DATABASE_LISTEN_URL to "
            "the direct endpoint; until then accounts are re-checked every second"
        )
        return None
    callers = authenticator.callers

    def forget(payload: str) -> None:
        callers.forget(uuid.UUID(payload))
        if hub is not None:
            hub.notify_payload(payload, recheck=True)

    def forget_webhooks(payload: str) -> None:
        SUBSCRIBERS.forget(uuid.UUID(payload))

    handlers = {notifications.ACCOUNTS_CHANNEL: forget, WEBHOOKS_CHANNEL: forget_webhooks}
    if hub is not None and changes:
        handlers[live_updates.CHANGES_CHANNEL] = hub.notify_payload
    return notifications.Listener(
        notifications.listen_dsn(url), handlers, on_connected=callers.set_notified
    )


def _document_bearer_only(app: FastAPI) -> None:
    """Without local accounts there is no password flow to advertise: plain bearer tokens."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = refine(FastAPI.openapi(app))
            schemes = schema.get("components", {}).get("securitySchemes", {})
            if schemes:
                schema["components"]["securitySchemes"] = {BEARER_SCHEME_NAME: dict(BEARER_SCHEME)}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "security" in operation:
                        scopes = [s for r in operation["security"] for v in r.values() for s in v]
                        operation["security"] = [{BEARER_SCHEME_NAME: sorted(set(scopes))}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

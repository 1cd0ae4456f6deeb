"""The app factory: settings, database, routers, middleware and error handlers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from app import migrate
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.security import make_password_hash
from app.database import create_db_engine
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.request_id import RequestIdMiddleware
from app.routers import auth, health, tasks, users

API_DESCRIPTION = """\
A secure, user-isolated task API. Register, get a token from `/api/v1/auth/token`
(or use **Authorize** above), then manage your tasks. Every error is an RFC 9457
`application/problem+json` document.
"""

TAGS = [
    {"name": "auth", "description": "Accounts and tokens: register, log in, refresh, log out."},
    {"name": "users", "description": "The signed-in user's own profile."},
    {"name": "tasks", "description": "Your tasks. Other users' tasks do not exist for you."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


def operation_id(route: APIRoute) -> str:
    """`list_tasks` -> `listTasks`: stable, readable names for generated clients."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.should_auto_migrate:
            migrate.upgrade(settings.database_url)
        else:
            migrate.check_up_to_date(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="Tasks API",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sqlite_write_gate = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    app.state.password_hash = make_password_hash(settings)

    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Location", "X-Request-ID"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Added last, so outermost: every response, even a 413 from the limit, gets an id.
    app.add_middleware(RequestIdMiddleware)

    for module in (auth, users, tasks, health):
        app.include_router(module.router)
    return app

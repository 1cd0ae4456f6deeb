"""The one-query floor: the same framework doing one primary-key SELECT and nothing else.

`/floor/sync/{id}`: a sync route, psycopg2, a thread-safe pool as large as the service's
(DB_POOL_SIZE + DB_MAX_OVERFLOW connections), autocommit so the SELECT is the only round trip.
`/floor/async/{id}`: the same as an async route on psycopg 3's async pool.

No auth, no ORM, no validation of the row: whatever a task route costs beyond these is the
service's own overhead. Run by benchmarks/run.py as
`uvicorn benchmarks.floor_app:create_app --factory` with DATABASE_URL set.
"""

import os
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg2.pool
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from app.core.config import Settings

SQL = (
    "SELECT id, title, description, completed, completed_at, created_at, updated_at"
    " FROM tasks WHERE id = %s"
)
COLUMNS = ("id", "title", "description", "completed", "completed_at", "created_at", "updated_at")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _row(row: tuple[Any, ...] | None) -> JSONResponse:
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse({key: _jsonable(value) for key, value in zip(COLUMNS, row, strict=True)})


def create_app() -> FastAPI:
    settings = Settings()
    dsn = os.environ["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://")
    size = settings.db_pool_size + settings.db_max_overflow
    # Like SQLAlchemy's QueuePool: pool_size connections kept, overflow ones closed on return.
    sync_pool = psycopg2.pool.ThreadedConnectionPool(settings.db_pool_size, size, dsn)
    # psycopg2's pool raises when empty; SQLAlchemy's waits. Wait, like the service does.
    sync_slots = threading.BoundedSemaphore(size)
    async_pool = AsyncConnectionPool(
        dsn, min_size=settings.db_pool_size, max_size=size, kwargs={"autocommit": True}, open=False
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await async_pool.open()
        yield
        await async_pool.close()
        sync_pool.closeall()

    app = FastAPI(lifespan=lifespan)

    @app.get("/floor/sync/{task_id}")
    def floor_sync(task_id: str) -> JSONResponse:
        with sync_slots:
            conn = sync_pool.getconn()
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(SQL, (task_id,))
                    row = cur.fetchone()
            finally:
                sync_pool.putconn(conn)
        return _row(row)

    @app.get("/floor/async/{task_id}")
    async def floor_async(task_id: str) -> JSONResponse:
        async with async_pool.connection() as conn:
            cur = await conn.execute(SQL, (task_id,))
            row = await cur.fetchone()
        return _row(row)

    return app

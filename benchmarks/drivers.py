"""Would an async driver pay? The database part of GET /api/v1/tasks/{id}, three ways.

    python -m benchmarks.drivers

A task read with its row-level security settings (the account check is a cache hit, as it
is for almost every request), run from the event loop against a throwaway PostgreSQL
database as an ordinary role:

- `sync psycopg2, 1 hop`: the service itself, `task_service.get_task_view` on the thread
  pool, as a sync route runs it (database.run: settings and the prepared statement in one
  simple-query call);
- `async psycopg 3, pipeline`: the settings and the same statement, prepared, sent in one
  pipeline on psycopg 3's async connection pool, on the event loop, no hop;
- `async psycopg 3, one call`: the settings and the statement as one simple-query call
  (client-side binding), the closest async twin of the sync path.

Prints the process CPU time per request: the median and best of interleaved rounds (the
machine's speed drifts, so the variants take turns). FastAPI, the middleware, the token and
the response are left out: they cost the same either way.
"""

import argparse
import asyncio
import itertools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from psycopg import AsyncClientCursor
from psycopg_pool import AsyncConnectionPool
from sqlmodel import Session

from app.core.config import Settings
from app.database import (
    SETTINGS_SQL,
    bind_session_to_user,
    create_db_engine,
    normalize_database_url,
)
from app.services import tasks as task_service
from benchmarks.inprocess import small_database

Variant = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]


def read_task(session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    bind_session_to_user(session, user_id)
    task_service.get_task_view(session=session, user_id=user_id, task_id=task_id)


async def run(
    settings: Settings,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    requests: int,
    rounds: int,
) -> dict[str, list[float]]:
    engine = create_db_engine(settings)
    dsn = normalize_database_url(settings.database_url).replace("postgresql+psycopg2", "postgresql")
    pool = AsyncConnectionPool(
        dsn, min_size=4, max_size=settings.db_pool_size, kwargs={"autocommit": True}, open=False
    )
    await pool.open()
    query = str(task_service._get_statement("postgresql").compile(dialect=engine.dialect))

    def settings_params(user_id: uuid.UUID) -> dict[str, Any]:
        return {
            "setting_statement_timeout": str(settings.db_statement_timeout_ms),
            "setting_user_id": str(user_id),
            "setting_refresh_token_hash": "",
        }

    async def sync_one_hop(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        with Session(engine, expire_on_commit=False) as session:
            await anyio.to_thread.run_sync(read_task, session, user_id, task_id)

    async def async_pipeline(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        async with pool.connection() as connection, connection.pipeline():
            await connection.execute(SETTINGS_SQL, settings_params(user_id), prepare=True)
            cursor = await connection.execute(
                query, {"task_id": task_id, "user_id": user_id}, prepare=True
            )
            await cursor.fetchone()

    async def async_one_call(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        params = {**settings_params(user_id), "task_id": task_id, "user_id": user_id}
        async with pool.connection() as connection, AsyncClientCursor(connection) as cursor:
            await cursor.execute(f"{SETTINGS_SQL}; {query}", params)
            cursor.nextset()
            await cursor.fetchone()

    found: dict[str, Variant] = {
        "sync psycopg2, 1 hop": sync_one_hop,
        "async psycopg 3, pipeline": async_pipeline,
        "async psycopg 3, one call": async_one_call,
    }
    try:
        return await measure(found, pairs, requests, rounds)
    finally:
        await pool.close()
        engine.dispose()


async def measure(
    found: dict[str, Variant], pairs: list[tuple[uuid.UUID, uuid.UUID]], requests: int, rounds: int
) -> dict[str, list[float]]:
    counter = itertools.count()
    for variant in found.values():  # warm-up: pools, prepared statements
        for _ in range(200):
            await variant(*pairs[next(counter) % len(pairs)])
    results: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(rounds):
        for name, variant in found.items():
            cpu = time.process_time()
            for _ in range(requests):
                await variant(*pairs[next(counter) % len(pairs)])
            results[name].append((time.process_time() - cpu) / requests * 1000)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    with small_database() as (pairs, settings):
        results = asyncio.run(run(settings, pairs, args.requests, args.rounds))
    print(f"{'variant':28} {'median CPU ms':>13} {'best CPU ms':>11}")
    for name, values in results.items():
        print(f"{name:28} {statistics.median(values):13.3f} {min(values):11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

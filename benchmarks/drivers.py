"""Would an async driver pay? The database part of GET /api/v1/tasks/{id}, four ways.

    python -m benchmarks.drivers

The service's own code for a task read (bind row-level security, the user check, the task
with its tags, end the transaction) run against a throwaway PostgreSQL database as an
ordinary role, from the event loop:

- `sync, 2 hops`: psycopg2 on the thread pool, as the service does now (the auth dependency,
  then the handler);
- `sync, 1 hop`: the same work in one thread-pool call;
- `async, 2 calls` / `async, 1 call`: SQLAlchemy's asyncio engine on psycopg 3, the same
  (sync) service functions run with `AsyncSession.run_sync`, which drives the async driver
  from a greenlet on the event loop: no thread-pool hop at all.

Prints the process CPU time per request: the median and best of interleaved rounds (the
machine's speed drifts, so the four variants take turns). FastAPI, the middleware, the
token and the response are left out: they cost the same either way.
"""

import argparse
import asyncio
import itertools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import Session

from app.core.config import Settings
from app.database import (
    SESSION_TIMEOUT_OPTION,
    bind_session_to_user,
    create_db_engine,
    normalize_database_url,
    session_engines,
)
from app.services import tasks as task_service
from app.services import users as user_service
from benchmarks.inprocess import small_database

Variant = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]


def check_user(session: Session, user_id: uuid.UUID) -> None:
    bind_session_to_user(session, user_id)
    caller = user_service.caller_for_token(session=session, user_id=user_id, token_version=0)
    if caller is None:
        raise SystemExit(f"user {user_id} not found")


def read_task(session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    task_service.get_task_view(session=session, user_id=user_id, task_id=task_id)
    session.rollback()


def check_and_read(session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    check_user(session, user_id)
    read_task(session, user_id, task_id)


async def run(
    settings: Settings,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    requests: int,
    rounds: int,
) -> dict[str, list[float]]:
    engine = create_db_engine(settings)
    sync_engine = session_engines(engine, settings.db_statement_timeout_ms).read
    async_url = normalize_database_url(settings.database_url).replace("+psycopg2", "+psycopg")
    async_root = create_async_engine(
        async_url, hide_parameters=True, pool_size=settings.db_pool_size
    )
    async_engine = async_root.execution_options(
        **{SESSION_TIMEOUT_OPTION: settings.db_statement_timeout_ms}
    )

    async def sync_two_hops(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        with Session(sync_engine, expire_on_commit=False) as session:
            await anyio.to_thread.run_sync(check_user, session, user_id)
            await anyio.to_thread.run_sync(read_task, session, user_id, task_id)

    async def sync_one_hop(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        with Session(sync_engine, expire_on_commit=False) as session:
            await anyio.to_thread.run_sync(check_and_read, session, user_id, task_id)

    async def async_two_calls(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        async with AsyncSession(async_engine, expire_on_commit=False) as session:
            await session.run_sync(check_user, user_id)
            await session.run_sync(read_task, user_id, task_id)

    async def async_one_call(user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        async with AsyncSession(async_engine, expire_on_commit=False) as session:
            await session.run_sync(check_and_read, user_id, task_id)

    found: dict[str, Variant] = {
        "sync, 2 hops": sync_two_hops,
        "sync, 1 hop": sync_one_hop,
        "async, 2 calls": async_two_calls,
        "async, 1 call": async_one_call,
    }
    try:
        return await measure(found, pairs, requests, rounds)
    finally:
        await async_root.dispose()
        engine.dispose()


async def measure(
    found: dict[str, Variant], pairs: list[tuple[uuid.UUID, uuid.UUID]], requests: int, rounds: int
) -> dict[str, list[float]]:
    counter = itertools.count()
    for variant in found.values():  # warm-up: pools, statement caches
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
    print(f"{'variant':16} {'median CPU ms':>13} {'best CPU ms':>11}")
    for name, values in results.items():
        print(f"{name:16} {statistics.median(values):13.2f} {min(values):11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

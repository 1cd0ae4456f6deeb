"""CPU per request of the app's own code: requests sent one at a time straight to the ASGI app.

    python -m benchmarks.inprocess                      # every scenario, 1,000 requests each
    python -m benchmarks.inprocess --only get,list --requests 3000

No server, no load tool, no concurrency: each request runs to completion before the next,
so the process CPU time per request is the cost of the middleware, dependencies, thread-pool
hops, SQLAlchemy and serialization for that route, without wrk's or queueing's noise. It is
the number to compare when changing the request path. To compare with another commit, check
that commit out beside this one and put its `backend` first on the path:

    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before/backend python -m benchmarks.inprocess

Uses a throwaway PostgreSQL database and an ordinary role (row-level security applies), like
`make bench`; both are dropped at the end. The database's own CPU is not counted.
"""

import argparse
import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from app import migrate
from app.core.config import Settings
from app.core.security import create_access_token
from app.core.webhook_signing import generate_secret
from app.database import normalize_database_url
from app.main import create_app
from app.models import Webhook
from benchmarks import seed
from benchmarks.run import SECRET, Profile, bench_database, grant_app_role, sample_tasks

USERS = 100
TASKS_PER_USER = 10
# create_hooked: a create by a user with one webhook subscribed to task.created (the outbox
# row is written in the request; delivery is off the request path and off here).
# get-pat: `get` with a personal access token (tasks:read) instead of a login token.
SCENARIOS = ("healthz", "get", "get-pat", "list", "create", "create_hooked", "patch", "complete")
# The first half of the users have a webhook; `create` is measured on the others.
HOOKED_USERS = USERS // 2
WARM_UP = 200  # requests before measuring: caches, pool, lazily built statements

Message = dict[str, Any]
Asgi = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


async def call(
    app: Asgi,
    method: str,
    path: str,
    token: str,
    body: bytes = b"",
    received: list[bytes] | None = None,
) -> int:
    """One request through the whole ASGI stack; returns the status code (and appends the
    response body to `received`, if given)."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    statuses: list[int] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif received is not None and message["type"] == "http.response.body":
            received.append(message.get("body", b""))

    await app(scope, receive, send)
    return statuses[0]


def request_for(
    scenario: str,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    tokens: dict[uuid.UUID, str],
    n: int,
) -> tuple[str, str, str, bytes]:
    """The n-th request of a scenario: the tasks are visited in turn, each by its owner."""
    if scenario in ("create", "create_hooked"):
        pairs = _pairs_for(pairs, hooked=scenario == "create_hooked")
    user, task = pairs[n % len(pairs)]
    token = tokens[user]
    if scenario == "healthz":
        return "GET", "/healthz", token, b""
    if scenario in {"get", "get-pat"}:
        return "GET", f"/api/v1/tasks/{task}", token, b""
    if scenario == "list":
        return "GET", "/api/v1/tasks", token, b""
    if scenario in ("create", "create_hooked"):
        return "POST", "/api/v1/tasks", token, b'{"title":"In-process benchmark"}'
    if scenario == "patch":
        return "PATCH", f"/api/v1/tasks/{task}", token, b'{"title":"Renamed %d"}' % n
    # complete, then reopen on the next visit: every request changes the task.
    action = "complete" if (n // len(pairs)) % 2 == 0 else "reopen"
    return "POST", f"/api/v1/tasks/{task}/{action}", token, b""


async def measure(
    app: Asgi,
    scenario: str,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    tokens: dict[uuid.UUID, str],
    requests: int,
    rounds: int,
) -> tuple[float, float]:
    """Best-of-rounds (CPU ms, wall ms) per request."""
    counter = itertools.count()
    for _ in range(min(WARM_UP, requests)):
        n = next(counter)
        status = await call(app, *request_for(scenario, pairs, tokens, n))
        if status >= 300:
            raise SystemExit(f"{scenario}: status {status} during warm-up")
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            n = next(counter)
            await call(app, *request_for(scenario, pairs, tokens, n))
        best_cpu = min(best_cpu, (time.process_time() - cpu) / requests * 1000)
        best_wall = min(best_wall, (time.perf_counter() - wall) / requests * 1000)
    return best_cpu, best_wall


_SPLIT: dict[tuple[int, bool], list[tuple[uuid.UUID, uuid.UUID]]] = {}


def _pairs_for(
    pairs: list[tuple[uuid.UUID, uuid.UUID]], *, hooked: bool
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The pairs of the users with (or without) a webhook, computed once, not per request."""
    key = (id(pairs), hooked)
    if key not in _SPLIT:
        _SPLIT[key] = [pair for pair in pairs if (pair[0] in _hooked_users()) == hooked]
    return _SPLIT[key]


@cache
def _hooked_users() -> frozenset[uuid.UUID]:
    return frozenset(seed.user_id(i) for i in range(HOOKED_USERS))


async def personal_tokens(app: Asgi, tokens: dict[uuid.UUID, str]) -> dict[uuid.UUID, str]:
    """A personal access token with `tasks:read` for each user, made through the API."""
    body = b'{"name":"bench","scopes":["tasks:read"],"expires_in_days":1}'
    made = {}
    for user, token in tokens.items():
        received: list[bytes] = []
        status = await call(app, "POST", "/api/v1/tokens", token, body, received)
        if status != 201:
            raise SystemExit(f"get-pat: creating a personal token answered {status}")
        made[user] = json.loads(b"".join(received))["token"]
    return made


# The change feed's triggers (migration 0016): dropped with --without-change-feed, to measure
# what feeding the log and notifying costs a write (issue 18).
CHANGE_FEED_TRIGGERS = [
    f"{table}_record_{kind}"
    for table in ("tasks", "lists", "tags")
    for kind in ("insert_delete", "update")
]


@contextmanager
def small_database(
    *, change_feed: bool = True
) -> Iterator[tuple[list[tuple[uuid.UUID, uuid.UUID]], Settings]]:
    """A throwaway PostgreSQL database of 100 users with 10 tasks each, for the API to reach as
    an ordinary role (row-level security applies): its (owner, task) pairs in random order,
    and production settings pointing at it, rate limits off. Dropped on exit."""
    profile = Profile(
        "postgresql", USERS, (USERS * TASKS_PER_USER,), TASKS_PER_USER, 0, 0, 1, 1, (1,), 100
    )
    with bench_database(profile, Path(".")) as (owner_url, app_url):
        migrate.upgrade(owner_url)
        owner = create_engine(normalize_database_url(owner_url))
        if not change_feed:
            with owner.begin() as conn:
                for trigger in CHANGE_FEED_TRIGGERS:
                    table = trigger.split("_record_")[0]
                    conn.execute(text(f"DROP TRIGGER {trigger} ON {table}"))
        grant_app_role(owner, app_url)
        with owner.begin() as conn:
            seed.seed_users(conn, USERS)
            seed.seed_tasks(conn, [seed.Block(0, USERS, TASKS_PER_USER)])
            now = datetime.now(UTC)
            conn.execute(
                insert(Webhook),
                [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "url": "https://hooks.example.com/bench",
                        "events": ["task.created"],
                        "secret": generate_secret(),
                        "enabled": True,
                        "consecutive_failures": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for user_id in _hooked_users()
                ],
            )
        pairs = [(user, task) for user, task, _ in sample_tasks(owner, USERS * TASKS_PER_USER)]
        owner.dispose()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=app_url,
            secret_key=SECRET,
            environment="production",
            auto_migrate=False,
            rate_limit_enabled=False,
            # Deliveries would go to hooks.example.com: measured is the request, not sending.
            webhook_worker_enabled=False,
        )
        yield pairs, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round and scenario")
    parser.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--without-change-feed",
        action="store_true",
        help="drop the change feed's triggers first (what they cost a write)",
    )
    args = parser.parse_args(argv)
    scenarios = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    with small_database(change_feed=not args.without_change_feed) as (pairs, settings):
        tokens = {
            seed.user_id(i): create_access_token(
                user_id=seed.user_id(i), token_version=0, settings=settings
            )
            for i in range(USERS)
        }
        app = create_app(settings)

        async def run() -> None:
            async with app.router.lifespan_context(app):
                print(f"{'scenario':10} {'CPU ms/req':>10} {'wall ms/req':>11}")
                pats = await personal_tokens(app, tokens) if "get-pat" in scenarios else {}
                for scenario in scenarios:
                    cpu, wall = await measure(
                        app,
                        scenario,
                        pairs,
                        pats if scenario == "get-pat" else tokens,
                        args.requests,
                        args.rounds,
                    )
                    print(f"{scenario:10} {cpu:10.2f} {wall:11.2f}", flush=True)

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

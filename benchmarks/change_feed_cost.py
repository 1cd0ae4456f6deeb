"""What the change feed's triggers cost a write, in the database: `python -m
benchmarks.change_feed_cost`.

On a throwaway PostgreSQL database (100 users with 10 tasks each, seeded like
benchmarks.inprocess), as the app's ordinary role (row-level security applies, as in
production), times the two statements every task create and patch run: an INSERT of a task
and an UPDATE of one (a new title and version), each in its own transaction with the
transaction-local user setting, over one connection. Rounds alternate between the triggers
enabled and disabled (`ALTER TABLE ... DISABLE TRIGGER`), each first in half of them, so both
see the same machine and the same table sizes; the median round is reported. Python and HTTP
are left out on purpose: the API adds the same milliseconds either way (benchmarks.inprocess
measures those).
"""

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from sqlalchemy import create_engine, text

from app import migrate
from app.database import normalize_database_url
from app.notifications import listen_dsn
from benchmarks import seed
from benchmarks.inprocess import CHANGE_FEED_TRIGGERS, TASKS_PER_USER, USERS
from benchmarks.run import Profile, bench_database, grant_app_role, sample_tasks

INSERT = (
    "INSERT INTO tasks (id, user_id, title, completed, priority, created_at, updated_at,"
    " list_id, version, recurrence_basis, recurrence_done, subtask_count, open_subtask_count)"
    " SELECT %s, %s, 'bench', false, 0, %s, %s, id, 1, 'due', 0, 0, 0"
    " FROM lists WHERE user_id = %s AND inbox"
)
UPDATE = (
    "UPDATE tasks SET title = %s, version = version + 1, updated_at = %s"
    " WHERE id = %s AND user_id = %s"
)
SET_USER = "SELECT set_config('app.user_id', %s, true)"


def _round(
    connection: "psycopg2.extensions.connection", pairs: list, count: int
) -> tuple[float, float]:
    """(µs per insert transaction, µs per update transaction)."""
    cursor = connection.cursor()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(count):
        user, _ = pairs[i % len(pairs)]
        cursor.execute(SET_USER, (str(user),))
        cursor.execute(INSERT, (str(uuid.uuid4()), str(user), now, now, str(user)))
        connection.commit()
    inserted = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for i in range(count):
        user, task = pairs[i % len(pairs)]
        cursor.execute(SET_USER, (str(user),))
        cursor.execute(UPDATE, (f"title {i}", now, str(task), str(user)))
        connection.commit()
    updated = (time.perf_counter() - started) / count * 1e6
    return inserted, updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1000, help="per round and kind")
    parser.add_argument("--rounds", type=int, default=5, help="per setting, alternating")
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="synchronous_commit=off: leave out the commit's disk flush, to see the CPU cost",
    )
    args = parser.parse_args(argv)
    profile = Profile(
        "postgresql", USERS, (USERS * TASKS_PER_USER,), TASKS_PER_USER, 0, 0, 1, 1, (1,), 100
    )
    with bench_database(profile, Path(".")) as (owner_url, app_url):
        migrate.upgrade(owner_url)
        owner = create_engine(normalize_database_url(owner_url), isolation_level="AUTOCOMMIT")
        grant_app_role(owner, app_url)
        with owner.begin() as conn:
            seed.seed_users(conn, USERS)
            seed.seed_tasks(conn, [seed.Block(0, USERS, TASKS_PER_USER)])
        pairs = [(user, task) for user, task, _ in sample_tasks(owner, USERS * TASKS_PER_USER)]
        connection = psycopg2.connect(listen_dsn(app_url))
        if args.no_fsync:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            connection.commit()
        results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        try:
            for round_ in range(args.rounds):
                # Each setting goes first in half the rounds: the tables grow as rounds go.
                for enabled in (True, False) if round_ % 2 == 0 else (False, True):
                    verb = "ENABLE" if enabled else "DISABLE"
                    with owner.connect() as conn:
                        for trigger in CHANGE_FEED_TRIGGERS:
                            table = trigger.split("_record_")[0]
                            conn.execute(text(f"ALTER TABLE {table} {verb} TRIGGER {trigger}"))
                    results[enabled].append(_round(connection, pairs, args.transactions))
        finally:
            connection.close()
            owner.dispose()
    for index, name in enumerate(("insert (create)", "update (patch)")):
        with_feed = statistics.median(r[index] for r in results[True])
        without = statistics.median(r[index] for r in results[False])
        print(
            f"{name:16} with triggers {with_feed:7.0f} µs/txn, without {without:7.0f} µs/txn:"
            f" {(with_feed / without - 1) * 100:+.1f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A stuck query ends in a 503 problem after DB_STATEMENT_TIMEOUT_MS, and the pool survives."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from tests.reliability.harness import ApiServer, PostgresCluster, running, sign_up

pytestmark = pytest.mark.faults

POOL_SIZE = 2
STATEMENT_TIMEOUT_MS = 1000


def _app_connections(conn: Connection) -> list[tuple[str, str | None]]:
    rows = conn.execute(
        text(
            "SELECT state, wait_event_type FROM pg_stat_activity "
            "WHERE application_name = 'tasks-api'"
        )
    )
    return [(row.state, row.wait_event_type) for row in rows]


def test_stuck_update_becomes_503_and_pool_does_not_leak(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    server = ApiServer(
        workdir,
        pg_database_url,
        db_statement_timeout_ms=STATEMENT_TIMEOUT_MS,
        db_pool_size=POOL_SIZE,
        db_max_overflow=0,
        db_pool_timeout_seconds=3,
    )
    holder = create_engine(pg_database_url, pool_size=1)
    with running(server), server.client() as client:
        headers = sign_up(client, "slow@example.com")
        task = client.post("/api/v1/tasks", json={"title": "locked"}, headers=headers).json()
        with holder.connect() as lock_conn:
            # Another client holds the row lock, so the app's UPDATE waits on it.
            lock_conn.execute(
                text("SELECT id FROM tasks WHERE id = CAST(:id AS uuid) FOR UPDATE"),
                {"id": task["id"]},
            )

            def stuck_patch(index: int) -> tuple[int, float, dict[str, str], str]:
                started = time.monotonic()
                response = client.patch(
                    f"/api/v1/tasks/{task['id']}", json={"title": f"t{index}"}, headers=headers
                )
                return (
                    response.status_code,
                    time.monotonic() - started,
                    dict(response.headers),
                    response.text,
                )

            # More stuck requests than the pool has connections: a leak would starve the pool.
            with ThreadPoolExecutor(max_workers=3) as pool:
                results = list(pool.map(stuck_patch, range(3 * POOL_SIZE)))
            lock_conn.rollback()
        holder.dispose()

        for status, elapsed, response_headers, body in results:
            assert status == 503, body
            assert response_headers["content-type"] == "application/problem+json"
            assert int(response_headers["retry-after"]) >= 1
            assert "Traceback" not in body
            # Bounded by the statement timeout (plus queueing for one of the pooled connections).
            assert elapsed < 3 * STATEMENT_TIMEOUT_MS / 1000 + 2

        # The pool is whole again: parallel requests all get a connection and succeed.
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(
                pool.map(
                    lambda _: (
                        client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code
                    ),
                    range(8),
                )
            )
        assert statuses == [200] * 8
        fixed = client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "free"}, headers=headers)
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["title"] == "free"

        admin = pg_cluster.admin_engine()
        with admin.connect() as conn:
            connections = _app_connections(conn)
        admin.dispose()
        # No more connections than the pool allows, none left inside an open transaction.
        assert 1 <= len(connections) <= POOL_SIZE
        assert all(state == "idle" for state, _ in connections), connections

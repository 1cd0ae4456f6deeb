"""SIGTERM mid-request: in-flight requests finish, new connections are refused, exit code 0."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, text

from tests.reliability.harness import ApiServer, PostgresCluster, sign_up

pytestmark = pytest.mark.faults

GRACE_SECONDS = 10
IN_FLIGHT = 3


def _waiting_on_lock(url: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            count: int = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'tasks-api' AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            return count
    finally:
        engine.dispose()


def test_sigterm_lets_in_flight_requests_finish_and_exits_zero(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    server = ApiServer(
        workdir,
        pg_database_url,
        shutdown_grace_seconds=GRACE_SECONDS,
        db_statement_timeout_ms=30_000,
    )
    server.start()
    holder = create_engine(pg_database_url, pool_size=1)
    try:
        with server.client() as setup:
            headers = sign_up(setup, "shutdown@example.com")
            task = setup.post("/api/v1/tasks", json={"title": "busy"}, headers=headers).json()

        def patch(index: int) -> httpx2.Response:
            # One connection per request, as separate clients would have.
            with server.client() as client:
                return client.patch(
                    f"/api/v1/tasks/{task['id']}", json={"title": f"done {index}"}, headers=headers
                )

        with holder.connect() as lock_conn, ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            # Hold the row so the PATCHes are provably in flight when SIGTERM arrives.
            lock_conn.execute(
                text("SELECT id FROM tasks WHERE id = CAST(:id AS uuid) FOR UPDATE"),
                {"id": task["id"]},
            )
            futures = [pool.submit(patch, index) for index in range(IN_FLIGHT)]
            deadline = time.monotonic() + 10
            while _waiting_on_lock(pg_database_url) < IN_FLIGHT:
                assert time.monotonic() < deadline, "requests never reached the database"
                time.sleep(0.05)

            server.terminate()
            signalled = time.monotonic()
            refused = False
            while time.monotonic() - signalled < 5:
                try:
                    httpx2.get(f"{server.base_url}/healthz", timeout=1)
                except httpx2.ConnectError:
                    refused = True
                    break
                time.sleep(0.05)
            assert refused, "the server still accepted new connections after SIGTERM"
            assert not any(future.done() for future in futures)
            lock_conn.rollback()
            responses = [future.result(timeout=GRACE_SECONDS) for future in futures]

        assert [response.status_code for response in responses] == [200] * IN_FLIGHT
        assert server.process is not None
        exit_code = server.process.wait(timeout=GRACE_SECONDS)
        elapsed = time.monotonic() - signalled
        assert exit_code == 0, server.logs()
        assert elapsed < GRACE_SECONDS
    finally:
        holder.dispose()
        server.stop()

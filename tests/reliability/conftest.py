"""Fixtures for the fault tests: one throwaway PostgreSQL cluster per module, a database each."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import migrate
from tests.conftest import skip_or_fail_postgres
from tests.reliability.harness import PostgresCluster, postgres_bindir


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PostgresCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        skip_or_fail_postgres("no initdb found (install postgresql)")
    assert bindir is not None
    try:
        cluster = PostgresCluster(bindir)
    except (OSError, RuntimeError, LookupError) as exc:
        skip_or_fail_postgres(f"cannot initdb a throwaway cluster: {exc}")
        raise
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_database_url(pg_cluster: PostgresCluster) -> str:
    """A fresh, migrated database on the throwaway cluster."""
    url = pg_cluster.create_database(f"tasks_api_{uuid.uuid4().hex[:10]}")
    migrate.upgrade(url)
    return url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path

"""The purge of old trash: only tasks past the retention, for every user, one purge at a time
(PostgreSQL: an advisory transaction lock), and the `tasks-api purge` command.

Each test works on a database of its own (the purge deletes across all accounts)."""

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text, update
from sqlmodel import Session

from app import migrate
from app.core.config import Settings
from app.database import create_db_engine, normalize_database_url
from app.jobs import purge_trash
from app.models import User
from app.models.base import utcnow
from app.models.task import TASKS
from app.schemas.task import TaskCreate
from app.services import lists as list_service
from app.services import tasks as task_service
from app.services import trash as trash_service
from tests.conftest import ThrowawayPostgres, fresh_database_url
from tests.live import run_cli, server_env


@pytest.fixture
def own_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    pg: ThrowawayPostgres | None = (
        request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    )
    url = fresh_database_url(backend, tmp_path_factory, pg)
    migrate.upgrade(url)
    return url


@pytest.fixture
def own_engine(own_url: str) -> Engine:
    engine = create_db_engine(Settings(_env_file=None, database_url=own_url))  # type: ignore[call-arg]
    yield engine  # type: ignore[misc]
    engine.dispose()


def _seed(engine: Engine, *, old: int, recent: int, live: int) -> list[uuid.UUID]:
    """Two users, each with `old` tasks trashed 40 days ago, `recent` trashed now and `live`
    not trashed; the ids of the old ones."""
    old_ids = []
    with Session(engine, expire_on_commit=False) as session:
        for _ in range(2):
            user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
            session.add(user)
            session.flush()
            list_service.ensure_inbox(session=session, user_id=user.id)
            session.commit()
            for kind, count in (("old", old), ("recent", recent), ("live", live)):
                for _ in range(count):
                    view = task_service.create_task(
                        session=session, user_id=user.id, task_in=TaskCreate(title=kind)
                    )
                    if kind != "live":
                        trash_service.trash_task(
                            session=session, user_id=user.id, task_id=view.task.id
                        )
                    if kind == "old":
                        old_ids.append(view.task.id)
        session.execute(
            update(TASKS)
            .where(TASKS.c.id.in_(old_ids))
            .values(deleted_at=utcnow() - timedelta(days=40))
        )
        session.commit()
    return old_ids


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_purge_deletes_only_what_is_past_the_retention(own_engine: Engine) -> None:
    _seed(own_engine, old=3, recent=2, live=1)
    assert purge_trash.run(own_engine, retention_days=30) == 6
    assert _count(own_engine, "SELECT count(*) FROM tasks WHERE deleted_at IS NOT NULL") == 4
    assert _count(own_engine, "SELECT count(*) FROM tasks WHERE deleted_at IS NULL") == 2
    assert purge_trash.run(own_engine, retention_days=30) == 0


def test_parallel_purges_delete_each_task_once(own_engine: Engine) -> None:
    _seed(own_engine, old=5, recent=1, live=1)
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def purge() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(purge_trash.run(own_engine, retention_days=30))
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(counts) == 10
    assert _count(own_engine, "SELECT count(*) FROM tasks") == 4


def test_a_purge_running_elsewhere_makes_this_one_skip(own_engine: Engine, backend: str) -> None:
    _seed(own_engine, old=2, recent=0, live=0)
    if backend == "sqlite":
        # No advisory locks: a second purge waits for the write lock, then finds nothing.
        assert purge_trash.run(own_engine, retention_days=30) == 4
        assert purge_trash.run(own_engine, retention_days=30) == 0
        return
    holder = create_engine(normalize_database_url(str(own_engine.url.render_as_string(False))))
    try:
        with holder.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": purge_trash.ADVISORY_LOCK_KEY}
            )
            assert purge_trash.run(own_engine, retention_days=30) == 0
        # The other transaction ended: its lock went with it.
        assert purge_trash.run(own_engine, retention_days=30) == 4
    finally:
        holder.dispose()


def test_purge_command(own_url: str, own_engine: Engine, tmp_path: Path) -> None:
    _seed(own_engine, old=1, recent=1, live=0)
    env = server_env(tmp_path, own_url)
    result = run_cli("purge", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "purged 2 tasks trashed more than 30 days ago",
        "purged 0 expired idempotency key(s)",
        "purged 0 change feed row(s) older than TOMBSTONE_RETENTION_DAYS",
    ]
    result = run_cli("purge", "--older-than-days", "0", env=env, cwd=tmp_path)
    assert result.stdout.splitlines()[0] == "purged 2 tasks trashed more than 0 days ago"

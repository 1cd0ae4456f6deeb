"""Alembic revisions and the models agree, and every revision downgrades, on both databases."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers the tables
from app import migrate
from app.core.config import Settings
from app.core.ordering import creation_key
from app.database import create_db_engine, normalize_database_url
from app.models.task import TASKS as TASK_MODEL
from tests.conftest import ThrowawayPostgres, fresh_database_url


@pytest.fixture
def empty_database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    pg: ThrowawayPostgres | None = (
        request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    )
    return fresh_database_url(backend, tmp_path_factory, pg)


def _diff(url: str) -> list[object]:
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": migrate.include_name}
            )
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(normalize_database_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_matches_models(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    assert _diff(empty_database_url) == []


def test_downgrade_to_base_and_back(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    assert {"users", "tasks", "refresh_tokens", "tags", "task_tags"} <= _tables(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    assert _diff(empty_database_url) == []


def test_each_revision_steps_down_and_up(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    engine = create_engine(normalize_database_url(empty_database_url))
    try:
        while migrate.current_revision(engine) is not None:
            migrate.downgrade(empty_database_url, "-1")
    finally:
        engine.dispose()
    migrate.upgrade(empty_database_url)
    assert _diff(empty_database_url) == []


def _count(url: str, sql: str) -> int:
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("hashed_password", sa.String()),
    sa.column("token_version", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
TASKS = sa.table(
    "tasks",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("completed", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _insert(url: str, table: sa.TableClause, **values: object) -> None:
    # The app's engine: on SQLite that means foreign keys ON, as in production.
    engine = create_db_engine(Settings(database_url=normalize_database_url(url)))
    try:
        with engine.begin() as connection:
            row = {"created_at": NOW, "updated_at": NOW, **values}
            connection.execute(sa.insert(table).values(**row))
    finally:
        engine.dispose()


def test_provider_users_revision_keeps_existing_data(empty_database_url: str) -> None:
    # Rebuilding `users` on SQLite must not cascade-delete tasks (foreign keys are on).
    url = empty_database_url
    migrate.upgrade(url, "0001")
    local_id = uuid.uuid4()
    _insert(url, USERS, id=local_id, email="a@example.com", hashed_password="h", token_version=0)
    _insert(url, TASKS, id=uuid.uuid4(), user_id=local_id, title="kept", completed=False)
    migrate.upgrade(url, "0008")
    assert _count(url, "SELECT count(*) FROM tasks") == 1
    provider_id = uuid.uuid4()
    provider_users = sa.table(
        "users",
        *(sa.column(c.name, c.type) for c in USERS.c),
        sa.column("auth_issuer", sa.String()),
        sa.column("auth_subject", sa.String()),
    )
    _insert(
        url,
        provider_users,
        id=provider_id,
        auth_issuer="https://idp.example.com",
        auth_subject="sub-1",
        token_version=0,
    )
    _insert(url, TASKS, id=uuid.uuid4(), user_id=provider_id, title="theirs", completed=False)
    migrate.downgrade(url, "0001")
    # Provider users (and their tasks) cannot exist in the old schema; local data stays.
    assert _count(url, "SELECT count(*) FROM users") == 1
    assert _count(url, "SELECT count(*) FROM tasks") == 1
    migrate.upgrade(url)
    assert _count(url, "SELECT count(*) FROM tasks") == 1
    assert _diff(url) == []


TASKS_0009 = sa.table("tasks", *(sa.column(c.name, c.type) for c in TASKS.c), sa.column("priority"))


def test_lists_revision_puts_every_task_in_its_owners_inbox(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0009")
    owners = [uuid.uuid4() for _ in range(3)]
    for number, owner in enumerate(owners):
        _insert(
            url,
            USERS,
            id=owner,
            email=f"u{number}@example.com",
            hashed_password="h",
            token_version=0,
        )
        for _ in range(number + 1):
            _insert(
                url,
                TASKS_0009,
                id=uuid.uuid4(),
                user_id=owner,
                title="kept",
                completed=False,
                priority=0,
            )
    migrate.upgrade(url)
    assert _count(url, "SELECT count(*) FROM lists WHERE inbox") == 3
    assert _count(url, "SELECT count(*) FROM lists") == 3
    assert _count(url, "SELECT count(*) FROM tasks") == 6
    # Every task is in the Inbox of its own owner.
    assert (
        _count(
            url,
            "SELECT count(*) FROM tasks JOIN lists ON lists.id = tasks.list_id "
            "AND lists.user_id = tasks.user_id AND lists.inbox",
        )
        == 6
    )
    assert _count(url, "SELECT count(*) FROM tasks WHERE deleted_at IS NOT NULL") == 0
    migrate.downgrade(url, "0009")
    assert _count(url, "SELECT count(*) FROM tasks") == 6
    migrate.upgrade(url)
    assert _count(url, "SELECT count(*) FROM lists WHERE inbox") == 3
    assert _diff(url) == []


def test_manual_order_revision_orders_existing_tasks_by_creation(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0009")
    owner = uuid.uuid4()
    _insert(url, USERS, id=owner, email="order@example.com", hashed_password="h", token_version=0)
    created = [NOW - timedelta(minutes=minutes) for minutes in (5, 30, 1, 12)]
    ids = [uuid.uuid4() for _ in created]
    for task_id, moment in zip(ids, created, strict=True):
        _insert(
            url,
            TASKS_0009,
            id=task_id,
            user_id=owner,
            title="kept",
            completed=False,
            priority=0,
            created_at=moment,
        )
    migrate.upgrade(url)

    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(TASK_MODEL.c.id, TASK_MODEL.c.position).order_by(TASK_MODEL.c.position)
            ).all()
    finally:
        engine.dispose()
    by_creation = [task_id for _, task_id in sorted(zip(created, ids, strict=True))]
    assert [row.id for row in rows] == by_creation
    assert all(
        row.position == creation_key(row.id, moment)
        for row, moment in zip(rows, sorted(created), strict=True)
    )
    migrate.downgrade(url, "0011")
    assert _count(url, "SELECT count(*) FROM tasks") == 4
    migrate.upgrade(url)
    assert _diff(url) == []

"""Alembic revisions and the models agree, and every revision downgrades, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers the tables
from app import migrate
from app.database import normalize_database_url
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

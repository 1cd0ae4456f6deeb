import socket
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import (
    Engine,
    Float,
    Integer,
    bindparam,
    create_engine,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.core.config import Settings
from app.core.errors import is_database_unavailable
from app.database import (
    MAX_PREPARED_PER_CONNECTION,
    begin,
    bind_session_to_user,
    create_db_engine,
    run,
)
from tests.conftest import BACKENDS, ThrowawayPostgres, admin_url, make_settings
from tests.sql_recorder import recording


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nested' / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "x.db").exists()


def test_postgres_engine_pings_every_checkout_when_idle_threshold_is_zero() -> None:
    settings = Settings(
        database_url="postgres://u@127.0.0.1/db",
        db_ping_after_idle_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = create_db_engine(settings)
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


def test_postgres_statement_timeout_is_set_per_transaction(
    throwaway_postgres: object, tmp_path: Path
) -> None:
    settings = make_settings(admin_url(), tmp_path, db_statement_timeout_ms=1234)
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            assert session.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
            assert session.execute(text("SHOW TimeZone")).scalar() == "UTC"
    finally:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _kill_backend(pid: int) -> None:
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def _pooled_engine(throwaway_postgres: ThrowawayPostgres, idle_seconds: float) -> Engine:
    settings = Settings(
        database_url=throwaway_postgres.create(),
        db_pool_size=1,
        db_max_overflow=0,
        db_ping_after_idle_seconds=idle_seconds,
        _env_file=None,  # type: ignore[call-arg]
    )
    return create_db_engine(settings)


def test_postgres_connection_that_died_while_idle_is_replaced_before_use(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    engine = _pooled_engine(throwaway_postgres, idle_seconds=0.05)
    try:
        first = _backend_pid(engine)
        _kill_backend(first)
        time.sleep(0.2)
        # Idle past the threshold: pinged, found dead, replaced; the caller sees no error.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_postgres_recently_used_connection_is_not_pinged_and_the_pool_recovers(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    engine = _pooled_engine(throwaway_postgres, idle_seconds=3600)
    try:
        first = _backend_pid(engine)
        _kill_backend(first)
        # Used moments ago, so no ping (the round trip saved on every request); a connection
        # killed in that window fails once...
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # ...and the disconnect invalidates the pool, so the next request connects afresh.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


_SETTINGS_PROBE = select(
    func.current_setting("statement_timeout").label("timeout"),
    func.current_setting("app.user_id").label("user_id"),
    func.current_setting("TimeZone").label("zone"),
    bindparam("echo", type_=Integer).label("echo"),
)


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "prepared-off"])
def test_run_on_postgres_is_one_call_with_its_settings_and_leaves_nothing_open(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path, prepared: bool
) -> None:
    settings = make_settings(
        throwaway_postgres.create(),
        tmp_path,
        db_statement_timeout_ms=2345,
        db_prepared_statements=prepared,
        db_pool_size=1,
    )
    engine = create_db_engine(settings)
    user_id = uuid.uuid4()
    try:
        with recording(engine) as sent:
            with Session(engine) as session:
                bind_session_to_user(session, user_id)
                first = run(session, _SETTINGS_PROBE, {"echo": 7}, prepare=True)
                second = run(session, _SETTINGS_PROBE, {"echo": 8}, prepare=True)
                assert not session.in_transaction()
            with engine.connect() as connection:
                # The pooled connection went back idle: no transaction left open, and the
                # driver is out of autocommit mode again for ordinary transactions.
                dbapi = connection.connection.dbapi_connection
                assert dbapi is not None
                assert not dbapi.autocommit
                assert dbapi.get_transaction_status() == 0  # TRANSACTION_STATUS_IDLE
    finally:
        engine.dispose()
    assert first == [("2345ms", str(user_id), "UTC", 7)]
    assert second == [("2345ms", str(user_id), "UTC", 8)]
    # One simple-query call each: the settings, then the statement. No BEGIN, no COMMIT.
    calls = [statement.split("; ") for statement, _ in sent]
    assert len(calls) == 2, calls
    if prepared:
        # Prepared once on this connection, with the first call; then only executed.
        assert calls[0][0].startswith("PREPARE tasks_api_")
        assert "current_setting" in calls[0][0]
        assert calls[0][2].startswith("EXECUTE tasks_api_")
        assert "set_config('statement_timeout'" in calls[1][0]
        assert calls[1][1] == calls[0][2]
        assert calls[1][1].startswith("EXECUTE tasks_api_")
    else:
        for settings_sql, query in calls:
            assert "set_config('statement_timeout'" in settings_sql
            assert "current_setting" in query


def test_prepared_statements_are_bounded_per_connection(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    settings = make_settings(throwaway_postgres.create(), tmp_path, db_pool_size=1)
    engine = create_db_engine(settings)
    statements = [
        select(literal_column(f"{n}").label("n"), bindparam("p", type_=Integer).label("p"))
        for n in range(MAX_PREPARED_PER_CONNECTION + 10)
    ]
    try:
        with Session(engine) as session:
            for n, statement in enumerate(statements):
                assert run(session, statement, {"p": n}, prepare=True) == [(n, n)]
            count = run(
                session, select(func.count()).select_from(text("pg_prepared_statements")), {}
            )
        assert count[0][0] <= MAX_PREPARED_PER_CONNECTION
    finally:
        engine.dispose()


def test_a_failed_call_that_prepared_does_not_leave_the_connection_guessing(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    # PREPARE is not undone when the rest of its call fails: the connection is discarded, so
    # the next call prepares afresh instead of failing with "already exists".
    settings = make_settings(
        throwaway_postgres.create(), tmp_path, db_pool_size=1, db_statement_timeout_ms=100
    )
    engine = create_db_engine(settings)
    sleep = select(func.pg_sleep(bindparam("seconds", type_=Float)))
    try:
        with Session(engine) as session:
            with pytest.raises(OperationalError):
                run(session, sleep, {"seconds": 1}, prepare=True)
            # pg_sleep returns void
            assert run(session, sleep, {"seconds": 0}, prepare=True) == [("",)]
    finally:
        engine.dispose()


def test_run_on_postgres_without_a_timeout_keeps_the_servers_own(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    settings = make_settings(throwaway_postgres.create(), tmp_path, db_statement_timeout_ms=0)
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            server_default = connection.execute(text("SHOW statement_timeout")).scalar()
        with Session(engine) as session:
            rows = run(session, _SETTINGS_PROBE, {"echo": 1})
    finally:
        engine.dispose()
    assert rows[0][0] == server_default  # current_setting(statement_timeout)


def test_run_on_postgres_is_cut_by_the_statement_timeout(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    settings = make_settings(throwaway_postgres.create(), tmp_path, db_statement_timeout_ms=50)
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session, pytest.raises(OperationalError) as raised:
            run(session, select(func.pg_sleep(bindparam("seconds", type_=Float))), {"seconds": 2})
        # Wrapped by SQLAlchemy like any statement's error, so the app answers 503.
        assert is_database_unavailable(raised.value)
    finally:
        engine.dispose()


_PROBE_TABLE = "run_probe"


def _probe_engine(backend: str, tmp_path: Path, pg: ThrowawayPostgres | None) -> Engine:
    url = f"sqlite:///{tmp_path / 'x.db'}" if pg is None else pg.create()
    engine = create_db_engine(make_settings(url, tmp_path))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {_PROBE_TABLE} (n INTEGER)"))
    return engine


_INSERT_PROBE = text(f"INSERT INTO {_PROBE_TABLE} (n) VALUES (:n)").bindparams(  # noqa: S608
    bindparam("n", type_=Integer)
)
_COUNT_PROBE = select(func.count()).select_from(text(_PROBE_TABLE))


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_commits_on_its_own_and_joins_a_transaction_already_begun(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    engine = _probe_engine(backend, tmp_path, pg)
    try:
        with Session(engine) as session:
            run(session, _INSERT_PROBE, {"n": 1})  # its own transaction: committed
            begin(session)
            run(session, _INSERT_PROBE, {"n": 2})  # joins the one begun: rolled back
            session.rollback()
        with Session(engine) as session:
            assert run(session, _COUNT_PROBE, {})[0][0] == 1
    finally:
        engine.dispose()


def test_run_on_a_connection_that_died_fails_like_any_statement_and_the_pool_recovers(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    engine = _pooled_engine(throwaway_postgres, idle_seconds=3600)
    probe = select(func.pg_backend_pid())
    try:
        with Session(engine) as session:
            first = run(session, probe, {})[0][0]
        _kill_backend(first)
        # A wrapped OperationalError (the app's 503), not the driver's own error...
        with Session(engine) as session, pytest.raises(OperationalError) as raised:
            run(session, probe, {})
        assert is_database_unavailable(raised.value)
        # ...and the dead connection is gone from the pool.
        with Session(engine) as session:
            assert run(session, probe, {})[0][0] != first
    finally:
        engine.dispose()


def test_run_when_the_database_refuses_connections_is_a_database_outage(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(f"postgresql://postgres@127.0.0.1:{port}/nowhere", tmp_path)
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session, pytest.raises(OperationalError) as raised:
            run(session, select(func.now()), {})
        assert is_database_unavailable(raised.value)  # the app answers 503
    finally:
        engine.dispose()

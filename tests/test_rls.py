"""PostgreSQL row-level security: a second wall behind the services' user_id filters.

Superusers and BYPASSRLS roles ignore policies even when forced, and the rest of the suite
connects as the `postgres` superuser. So these tests create a throwaway database and a
uniquely named ordinary login role with only the privileges the app needs, run the real app
as that role, and drop both afterwards.
"""

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from app import database, migrate
from app.database import normalize_database_url
from app.dependencies import CurrentUser, SessionDep, require_scope
from app.jobs.reminders import fire_due_reminders
from app.main import create_app
from app.models import (
    PersonalToken,
    RefreshToken,
    Reminder,
    Tag,
    Task,
    TaskCompletion,
    TaskTag,
    Webhook,
    WebhookDelivery,
)
from app.models.task import TASKS
from app.services import outbox
from tests.conftest import ThrowawayPostgres, make_settings
from tests.core.webhook_servers import Receiver, serving
from tests.factories import (
    Account,
    assert_problem,
    bearer,
    login,
    make_account,
    make_personal_token,
    make_task,
)
from tests.sql_recorder import recording


class RlsDatabase:
    def __init__(self, owner_url: str, app_url: str) -> None:
        self.owner_url = owner_url
        self.app_url = app_url


@pytest.fixture
def rls_database(throwaway_postgres: ThrowawayPostgres) -> Iterator[RlsDatabase]:
    owner_url = throwaway_postgres.create()
    migrate.upgrade(owner_url)  # as the owner (here the superuser), like a deploy step
    role = f"tasks_api_rls_{uuid.uuid4().hex[:10]}"
    database = make_url(owner_url).database
    owner = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        )
    app_url = make_url(owner_url).set(username=role).render_as_string(hide_password=False)
    try:
        yield RlsDatabase(owner_url, app_url)
    finally:
        with owner.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()


# No WHERE user_id: row-level security must filter (built once, as database.run requires).
_ALL_TASK_OWNERS = sa_select(TASKS.c.user_id)


def _add_probes(app: FastAPI) -> None:
    """Deliberately unscoped queries, run through the request's own session."""

    @app.get("/probe/unscoped")
    def unscoped(session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        tasks = session.exec(select(Task)).all()  # no WHERE user_id: RLS must filter
        tokens = session.exec(select(RefreshToken)).all()
        retitled = session.execute(update(Task).values(title="overwritten"))
        session.commit()
        return {
            "task_owners": sorted({str(t.user_id) for t in tasks}),
            "task_count": len(tasks),
            "token_owners": sorted({str(t.user_id) for t in tokens}),
            "updated": getattr(retitled, "rowcount", -1),
        }

    @app.post("/probe/plant")
    def plant(owner_id: str, session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        session.add(Task(user_id=uuid.UUID(owner_id), title="planted"))
        try:
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            return {"refused": "row-level security" in str(exc.orig)}
        return {"refused": False}

    @app.get("/probe/unscoped-tags")
    def unscoped_tags(session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        tags = session.exec(select(Tag)).all()  # no WHERE user_id: RLS must filter
        links = session.exec(select(TaskTag)).all()
        return {
            "tag_owners": sorted({str(t.user_id) for t in tags}),
            "tag_count": len(tags),
            "link_owners": sorted({str(link.user_id) for link in links}),
        }

    @app.get("/probe/unscoped-run")
    def unscoped_run(session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        # database.run, the one-call path of the hot routes: its settings must scope it too.
        owners = database.run(session, _ALL_TASK_OWNERS, {})
        return {"task_owners": sorted({str(owner) for (owner,) in owners})}

    @app.get("/probe/unscoped-reminders")
    def unscoped_reminders(session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        reminders = session.exec(select(Reminder)).all()  # no WHERE user_id: RLS must filter
        completions = session.exec(select(TaskCompletion)).all()
        return {
            "reminder_owners": sorted({str(r.user_id) for r in reminders}),
            "completion_owners": sorted({str(c.user_id) for c in completions}),
        }

    @app.get("/probe/unscoped-webhooks")
    def unscoped_webhooks(session: SessionDep, current_user: CurrentUser) -> dict[str, Any]:
        hooks = session.exec(select(Webhook)).all()  # no WHERE user_id: RLS must filter
        queued = session.exec(select(WebhookDelivery)).all()
        return {
            "webhook_owners": sorted({str(h.user_id) for h in hooks}),
            "delivery_owners": sorted({str(d.user_id) for d in queued}),
        }

    @app.get("/probe/unscoped-personal-tokens", dependencies=[require_scope("account:read")])
    def unscoped_personal_tokens(session: SessionDep, current_user: CurrentUser) -> list[str]:
        return sorted({str(t.user_id) for t in session.exec(select(PersonalToken)).all()})

    @app.get("/probe/anonymous")
    def anonymous(session: SessionDep) -> dict[str, int]:
        return {"tasks": len(session.exec(select(Task)).all())}


@pytest.fixture
def rls_client(
    rls_database: RlsDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[TestClient]:
    settings = make_settings(rls_database.app_url, tmp_path)
    app = create_app(settings)
    _add_probes(app)
    with caplog.at_level(logging.WARNING, logger="app.main"), TestClient(app) as client:
        yield client


def test_app_role_is_not_warned_about(
    rls_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert not [r for r in caplog.records if "row-level security" in r.getMessage()]


def test_unscoped_queries_see_only_the_callers_rows(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    for _ in range(3):
        make_task(client, alice)
    bobs = [make_task(client, bob, title="bob's") for _ in range(2)]

    seen = client.get("/probe/unscoped", headers=alice.headers).json()
    assert seen == {
        "task_owners": [alice.id],
        "task_count": 3,
        "token_owners": [alice.id],
        "updated": 3,
    }
    # Bob's rows were neither visible nor touched by Alice's unscoped UPDATE.
    for task in bobs:
        assert client.get(f"/api/v1/tasks/{task['id']}", headers=bob.headers).json() == task
    assert client.get("/probe/unscoped", headers=bob.headers).json()["task_count"] == 2
    # The same through database.run, whose settings travel in the statement's own call.
    assert client.get("/probe/unscoped-run", headers=alice.headers).json() == {
        "task_owners": [alice.id]
    }
    assert client.get("/probe/unscoped-run", headers=bob.headers).json() == {
        "task_owners": [bob.id]
    }


def test_writing_a_row_for_another_user_is_refused(rls_client: TestClient) -> None:
    alice, bob = make_account(rls_client), make_account(rls_client)
    planted = rls_client.post("/probe/plant", params={"owner_id": bob.id}, headers=alice.headers)
    assert planted.json() == {"refused": True}
    own = rls_client.post("/probe/plant", params={"owner_id": alice.id}, headers=alice.headers)
    assert own.json() == {"refused": False}
    assert rls_client.get("/api/v1/tasks", headers=bob.headers).json()["items"] == []


def test_a_session_without_a_user_sees_no_rows(rls_client: TestClient) -> None:
    alice = make_account(rls_client)
    make_task(rls_client, alice)
    assert rls_client.get("/probe/anonymous").json() == {"tasks": 0}


def test_every_account_flow_works_under_rls(rls_client: TestClient) -> None:
    client = rls_client
    account: Account = make_account(client)
    task = make_task(client, account)
    assert client.get("/api/v1/tasks", headers=account.headers).json()["items"] == [task]
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    pair = refreshed.json()
    # Reuse detection needs to find and revoke the family before the user is known.
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(replay, 401)
    logout = client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert logout.status_code == 204
    assert_problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401
    )
    tokens = login(client, email=account.email, password=account.password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    changed = client.post(
        "/api/v1/users/me/password",
        json={"current_password": account.password, "new_password": "new passphrase 1"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    headers = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.post("/api/v1/auth/logout-all", headers=headers).status_code == 204
    tokens = login(client, email=account.email, password="new passphrase 1")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 204
    assert client.delete("/api/v1/users/me", headers=headers).status_code == 204


def test_superuser_role_gets_a_start_up_warning(
    rls_database: RlsDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(rls_database.owner_url, tmp_path))
    with caplog.at_level(logging.WARNING, logger="app.main"), TestClient(app):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.main"]
    assert any("row-level security is NOT enforced" in m and "superuser" in m for m in warnings)


def test_policies_are_forced_on_every_user_owned_table(rls_database: RlsDatabase) -> None:
    engine = create_engine(rls_database.owner_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname IN ('tasks', 'refresh_tokens', 'tags', 'task_tags', 'lists',"
                    " 'idempotency_keys', 'reminders', 'task_completions', 'webhooks',"
                    " 'webhook_deliveries', 'webhook_attempts', 'personal_tokens',"
                    " 'calendar_feeds', 'import_records', 'changes', 'event_tickets')"
                )
            ).all()
            policies = {
                r.tablename for r in conn.execute(text("SELECT tablename FROM pg_policies")).all()
            }
            owned = {
                r.table_name
                for r in conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND column_name = 'user_id'"
                    )
                ).all()
            }
    finally:
        engine.dispose()
    assert {r.relname for r in rows} == owned
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
    assert policies == owned


def test_lists_and_the_trash_work_under_rls(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    # Registration made each an Inbox, as its own row.
    lists = client.get("/api/v1/lists", headers=alice.headers).json()
    assert [item["name"] for item in lists] == ["Inbox"]
    work = client.post("/api/v1/lists", json={"name": "Work"}, headers=alice.headers).json()
    mine = make_task(client, alice, list_id=work["id"])
    # Bob cannot put a task in Alice's list: the same 422 as for a list that does not exist.
    refused = client.post(
        "/api/v1/tasks", json={"title": "x", "list_id": work["id"]}, headers=bob.headers
    )
    assert assert_problem(refused, 422)["detail"] == "Invalid request: list_id"
    assert client.get(f"/api/v1/lists/{work['id']}", headers=bob.headers).status_code == 404
    assert client.delete(f"/api/v1/tasks/{mine['id']}", headers=alice.headers).status_code == 204
    trash = client.get("/api/v1/trash", headers=alice.headers).json()["items"]
    assert [item["id"] for item in trash] == [mine["id"]]
    assert client.get("/api/v1/trash", headers=bob.headers).json()["items"] == []
    deleted = client.delete(f"/api/v1/lists/{work['id']}?tasks=inbox", headers=alice.headers)
    assert deleted.status_code == 204
    restored = client.post(f"/api/v1/trash/{mine['id']}/restore", headers=alice.headers)
    assert restored.json()["list_id"] == lists[0]["id"]


def test_the_purge_job_works_under_rls(rls_database: RlsDatabase, rls_client: TestClient) -> None:
    from datetime import timedelta

    from app.database import create_db_engine
    from app.jobs import purge_trash

    client = rls_client
    alice, bob = make_account(client), make_account(client)
    for account in (alice, bob):
        task = make_task(client, account)
        assert (
            client.delete(f"/api/v1/tasks/{task['id']}", headers=account.headers).status_code == 204
        )
    engine = create_db_engine(make_settings(rls_database.app_url, Path("/nonexistent")))
    try:
        later = purge_trash.utcnow() + timedelta(days=31)
        with Session(engine) as session, session.begin():
            assert purge_trash.purge_expired(session, retention_days=30, now=later) == 2
    finally:
        engine.dispose()
    assert client.get("/api/v1/trash", headers=alice.headers).json()["items"] == []


def test_tags_obey_row_level_security(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    mine = make_task(client, alice, title="invoice", tags=["work", "home"])
    make_task(client, bob, title="invoice", tags=["WORK"])
    seen = client.get("/probe/unscoped-tags", headers=alice.headers).json()
    assert seen == {"tag_owners": [alice.id], "tag_count": 2, "link_owners": [alice.id]}
    # The organising features work for an ordinary role under the policies.
    listed = client.get(
        "/api/v1/tasks",
        params={"tag": "work", "q": "invoice", "sort": "-relevance"},
        headers=alice.headers,
    ).json()
    assert [t["id"] for t in listed["items"]] == [mine["id"]]
    stats = client.get("/api/v1/tasks/stats", headers=alice.headers).json()
    assert [(t["name"], t["total"]) for t in stats["by_tag"]] == [("home", 1), ("work", 1)]
    tags = {t["name"]: t["id"] for t in client.get("/api/v1/tags", headers=alice.headers).json()}
    renamed = client.patch(
        f"/api/v1/tags/{tags['home']}", json={"name": "Work"}, headers=alice.headers
    )
    assert_problem(renamed, 409)
    deleted = client.delete(f"/api/v1/tags/{tags['home']}", headers=alice.headers)
    assert deleted.status_code == 204
    assert client.get(f"/api/v1/tasks/{mine['id']}", headers=alice.headers).json()["tags"] == [
        "work"
    ]
    assert client.get("/probe/unscoped-tags", headers=bob.headers).json()["tag_count"] == 1


def _statements_of(client: TestClient, call: Callable[[], Any]) -> list[str]:
    with recording(client.app.state.engine) as sent:  # type: ignore[attr-defined]
        call()
    return [statement for statement, _ in sent]


def test_a_task_read_is_one_call_to_the_database(rls_client: TestClient) -> None:
    """With the caller's account remembered, a read is a single simple-query call: the
    transaction settings (timeout, the caller's id for the policies) and then the task with
    its tags, run by PostgreSQL as one implicit transaction. No BEGIN, no COMMIT. The query
    is a prepared statement: prepared in the call that first needs it on a connection, then
    only executed."""
    owner = make_account(rls_client, email="one-statement@example.com")
    task = make_task(rls_client, owner, tags=["b", "A"])

    def read() -> None:
        response = rls_client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
        assert response.status_code == 200
        assert response.json()["tags"] == ["A", "b"]

    # The recorder starts every connection afresh, so the first read prepares.
    statements = _statements_of(rls_client, lambda: (read(), read()))
    assert len(statements) == 2, statements
    prepare, settings, execute = statements[0].split("; ")
    assert prepare.startswith("PREPARE tasks_api_")
    assert "FROM tasks" in prepare
    assert "task_tags" in prepare
    assert "set_config('statement_timeout'" in settings
    assert "set_config('app.user_id'" in settings
    assert execute.startswith("EXECUTE tasks_api_")
    assert statements[1] == f"{settings}; {execute}"

    # A process that does not know the account yet reads it first, in a call of its own.
    authenticator = rls_client.app.state.authenticator  # type: ignore[attr-defined]
    authenticator.callers.forget_all()
    statements = _statements_of(rls_client, read)
    assert len(statements) == 2, statements
    assert "FROM users" in statements[0]
    assert "FROM tasks" in statements[1]


def test_revoked_and_deleted_accounts_are_refused_at_once(rls_client: TestClient) -> None:
    """A token whose account revoked its tokens, or no longer exists, gets 401 from the next
    request on: the process that made the change forgets what it remembered of the account."""
    account = make_account(rls_client, email="refused@example.com")
    task = make_task(rls_client, account)
    assert rls_client.post("/api/v1/auth/logout-all", headers=account.headers).status_code == 204
    assert_problem(rls_client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers), 401)

    tokens = login(rls_client, email=account.email, password=account.password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert rls_client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 200
    assert rls_client.delete("/api/v1/users/me", headers=headers).status_code == 204
    assert_problem(rls_client.get(f"/api/v1/tasks/{task['id']}", headers=headers), 401)
    assert_problem(rls_client.get("/api/v1/tasks", headers=headers), 401)


def test_the_request_transaction_carries_the_timeout_and_the_user(
    rls_database: RlsDatabase, tmp_path: Path
) -> None:
    settings = make_settings(rls_database.app_url, tmp_path, db_statement_timeout_ms=4321)
    app = create_app(settings)

    @app.get("/probe/settings")
    def probe(session: SessionDep, current_user: CurrentUser) -> dict[str, str]:
        row = session.execute(
            text("SELECT current_setting('statement_timeout'), current_setting('app.user_id')")
        ).one()
        return {"timeout": row[0], "user_id": row[1], "caller": str(current_user.id)}

    with TestClient(app) as client:
        owner = make_account(client, email="settings@example.com")
        body = client.get("/probe/settings", headers=owner.headers).json()
    assert body["timeout"] == "4321ms"
    assert body["user_id"] == body["caller"]


def test_reminders_and_completions_obey_row_level_security(
    rls_client: TestClient, rls_database: RlsDatabase
) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    fired = []
    for account in (alice, bob):
        task = make_task(client, account, due="2026-12-01", recurrence="FREQ=DAILY")
        done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=account.headers)
        assert done.json()["due"] == "2026-12-02"
        reminder = client.post(
            f"/api/v1/tasks/{task['id']}/reminders", json={"at": past}, headers=account.headers
        )
        assert reminder.status_code == 201, reminder.text
        fired.append(uuid.UUID(reminder.json()["id"]))
    seen = client.get("/probe/unscoped-reminders", headers=alice.headers).json()
    assert seen == {"reminder_owners": [alice.id], "completion_owners": [alice.id]}
    # The scheduler runs as the same role, across users, through migration 0012's policies.
    engine = create_engine(normalize_database_url(rls_database.app_url))
    try:
        result = fire_due_reminders(engine, grace=timedelta(hours=1))
        with engine.connect() as conn:
            # Without the job setting, the role sees no reminders at all.
            assert conn.execute(sa_select(Reminder.id)).all() == []  # type: ignore[call-overload]
    finally:
        engine.dispose()
    assert set(fired) <= set(result.fired)


def test_safe_writes_under_row_level_security(rls_client: TestClient) -> None:
    """Issue 17 as the app's ordinary role: a conditional read answered 304 is still one call;
    an If-Match write is one call too; a keyed create stores its response under the policies
    and replays it; another user's key is another key. The round trips are recorded here."""
    owner = make_account(rls_client, email="safe-writes@example.com")
    stranger = make_account(rls_client, email="safe-writes-other@example.com")
    task = make_task(rls_client, owner)
    url = f"/api/v1/tasks/{task['id']}"

    def conditional_read() -> None:
        response = rls_client.get(url, headers={**owner.headers, "If-None-Match": '"1"'})
        assert response.status_code == 304

    assert len(_statements_of(rls_client, conditional_read)) == 1

    def conditional_write() -> None:
        response = rls_client.patch(
            url, json={"title": "t"}, headers={**owner.headers, "If-Match": '"1"'}
        )
        assert response.status_code == 200

    assert len(_statements_of(rls_client, conditional_write)) == 1

    keyed = {**owner.headers, "Idempotency-Key": "rls-key"}

    def create() -> None:
        response = rls_client.post("/api/v1/tasks", json={"title": "once"}, headers=keyed)
        assert response.status_code == 201

    first = _statements_of(rls_client, create)
    # The settings, the key's lock, its lookup, the Inbox's id (the task's list is named up
    # front: a failed INSERT would abort the key's transaction, services.tasks.create_task),
    # the task, the stored response; psycopg2 adds BEGIN and COMMIT (not recorded).
    assert [s.split()[0] for s in first] == [
        "SELECT",
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
    ]
    assert "pg_try_advisory_xact_lock" in first[1]
    assert "FROM idempotency_keys" in first[2]
    assert "FROM lists" in first[3]
    # The process remembers the Inbox's id (it never changes): the next keyed create does not
    # read it. Seven round trips, against one for a plain create.
    other_key = {**owner.headers, "Idempotency-Key": "rls-key-2"}
    second = _statements_of(
        rls_client,
        lambda: rls_client.post("/api/v1/tasks", json={"title": "twice"}, headers=other_key),
    )
    assert [s.split()[0] for s in second] == ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT"]
    replay = _statements_of(rls_client, create)
    assert [s.split()[0] for s in replay] == ["SELECT", "SELECT", "SELECT"]
    theirs = rls_client.post(
        "/api/v1/tasks",
        json={"title": "once"},
        headers={**stranger.headers, "Idempotency-Key": "rls-key"},
    )
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    titles = [
        t["title"] for t in rls_client.get("/api/v1/tasks", headers=owner.headers).json()["items"]
    ]
    assert titles.count("once") == titles.count("twice") == 1


def test_webhooks_obey_row_level_security_and_the_worker_sends_for_everyone(
    rls_database: RlsDatabase, tmp_path: Path
) -> None:
    settings = make_settings(
        rls_database.app_url, tmp_path, webhook_allow_private=True, webhook_poll_seconds=0.05
    )
    app = create_app(settings)
    _add_probes(app)
    # The lifespan starts the in-server delivery worker, as this ordinary role.
    with serving(Receiver()) as receiver, TestClient(app) as client:
        alice, bob = make_account(client), make_account(client)
        for account in (alice, bob):
            created = client.post(
                "/api/v1/webhooks",
                json={"url": f"http://127.0.0.1:{receiver.port}/ok", "events": ["task.created"]},
                headers=account.headers,
            )
            assert created.status_code == 201, created.text
            make_task(client, account)
        seen = client.get("/probe/unscoped-webhooks", headers=alice.headers).json()
        assert seen == {"webhook_owners": [alice.id], "delivery_owners": [alice.id]}
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2:
            assert time.monotonic() < deadline, "the worker did not deliver both"
            time.sleep(0.05)
    assert {json.loads(r.body)["type"] for r in receiver.received} == {"task.created"}
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 2


def test_completing_a_recurring_task_takes_three_calls(rls_client: TestClient) -> None:
    """The complete that leaves a recurring task to the advance (one UPDATE matching
    nothing), one read of the task, then the advance and its completion in one statement
    (services.completions); a retried complete of a done task is the UPDATE and the read."""
    owner = make_account(rls_client, email="recurring-calls@example.com")
    task = make_task(rls_client, owner, due="2026-12-01", recurrence="FREQ=DAILY")
    url = f"/api/v1/tasks/{task['id']}/complete"

    def complete() -> None:
        assert rls_client.post(url, headers=owner.headers).status_code == 200

    advanced = _statements_of(rls_client, complete)
    assert len(advanced) == 3, advanced
    assert "UPDATE tasks" in advanced[0]
    assert "FROM tasks" in advanced[1]
    assert "INSERT INTO task_completions" in advanced[2]
    plain = make_task(rls_client, owner)
    plain_url = f"/api/v1/tasks/{plain['id']}/complete"
    assert rls_client.post(plain_url, headers=owner.headers).status_code == 200
    retried = _statements_of(rls_client, lambda: rls_client.post(plain_url, headers=owner.headers))
    assert len(retried) == 2, retried
    assert "UPDATE tasks" in retried[0]
    assert "FROM tasks" in retried[1]


def test_a_write_by_a_user_without_webhooks_is_still_one_call(
    rls_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox costs nothing to a user without webhooks: once the process knows that
    (outbox.SUBSCRIBERS; its 1 s lifetime is stretched here so the test cannot race it), a
    create is the same single call as before webhooks existed."""
    monkeypatch.setattr(outbox.SUBSCRIBERS, "ttl_seconds", 3600.0)
    owner = make_account(rls_client)
    make_task(rls_client, owner)  # the first write asks whether the owner has webhooks
    statements = _statements_of(rls_client, lambda: make_task(rls_client, owner))
    assert len(statements) == 1, statements
    assert "INSERT INTO tasks" in statements[0]


def test_a_create_with_a_webhook_is_one_statement_with_its_event(
    rls_database: RlsDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task and its task.created delivery: one statement (a data-modifying CTE), so the
    create commits both or neither; the event names the Inbox, whose id the process
    remembers once read (it never changes), so the create is that one call."""
    monkeypatch.setattr(outbox.SUBSCRIBERS, "ttl_seconds", 3600.0)
    settings = make_settings(
        rls_database.app_url, tmp_path, webhook_allow_private=True, webhook_worker_enabled=False
    )
    client = TestClient(create_app(settings))
    owner = make_account(client)
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["task.created"]},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    # The first create learns that the owner has webhooks, and reads the Inbox's id.
    first = _statements_of(client, lambda: make_task(client, owner))
    assert "FROM lists" in first[-2], first
    statements = _statements_of(client, lambda: make_task(client, owner, title="one call"))
    assert len(statements) == 1, statements
    assert "INSERT INTO tasks" in statements[0]
    assert "INSERT INTO webhook_deliveries" in statements[0]
    queued = client.get(
        f"/api/v1/webhooks/{created.json()['id']}/deliveries", headers=owner.headers
    ).json()
    assert [d["payload"]["data"]["title"] for d in queued] == ["one call", "A task"]


def test_personal_tokens_work_and_stay_private_under_rls(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    task = make_task(client, alice)
    # Found by its hash before its user is known, then used, then its use recorded.
    created = make_personal_token(client, alice, ["tasks:read", "account:read"])
    headers = bearer(created["token"])
    assert client.get("/api/v1/tasks", headers=headers).json()["items"] == [task]
    make_personal_token(client, bob, ["tasks:read"])
    [listed] = client.get("/api/v1/tokens", headers=alice.headers).json()
    assert listed["last_used_at"] is not None
    # An unscoped query sees only the caller's own token rows.
    assert client.get("/probe/unscoped-personal-tokens", headers=headers).json() == [alice.id]
    revoked = client.delete(f"/api/v1/tokens/{created['id']}", headers=alice.headers)
    assert revoked.status_code == 204
    assert_problem(client.get("/api/v1/tasks", headers=headers), 401)
    other = make_personal_token(client, alice, ["tasks:read"])
    changed = client.post(
        "/api/v1/auth/logout-all", json={"revoke_tokens": True}, headers=alice.headers
    )
    assert changed.status_code == 204
    assert_problem(client.get("/api/v1/tasks", headers=bearer(other["token"])), 401)


def test_calendar_feeds_work_under_rls(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    make_task(client, alice, title="Alice's", due="2026-12-01")
    make_task(client, bob, title="Bob's", due="2026-12-01")
    created = client.post("/api/v1/calendar/feeds", json={}, headers=alice.headers)
    assert created.status_code == 201, created.text
    make_task(client, alice, title="Alice's second", due="2026-12-02")
    # The feed URL carries no Authorization: the owner is found by the token's hash alone.
    feed = client.get(urlsplit(created.json()["url"]).path)
    assert feed.status_code == 200, feed.text
    assert "SUMMARY:Alice's\r\n" in feed.text
    assert "SUMMARY:Alice's second\r\n" in feed.text
    assert "Bob" not in feed.text
    assert client.get("/api/v1/calendar/feeds", headers=bob.headers).json() == []
    assert client.get("/calendar/tcf_unknown.ics").status_code == 404
    deleted = client.delete(f"/api/v1/calendar/feeds/{created.json()['id']}", headers=bob.headers)
    assert deleted.status_code == 404
    assert client.get(urlsplit(created.json()["url"]).path).status_code == 200


def test_export_and_import_work_under_rls(rls_client: TestClient) -> None:
    client = rls_client
    alice, bob = make_account(client), make_account(client)
    make_task(client, alice, title="alice's", tags=["mine"])
    make_task(client, bob, title="bob's")
    exported = client.get("/api/v1/export", headers=alice.headers)
    assert exported.status_code == 200, exported.text
    assert [task["title"] for task in exported.json()["tasks"]] == ["alice's"]
    # Into Bob's account, twice: created once (the import records obey the policy too).
    for created in (1, 0):
        response = client.post(
            "/api/v1/import?format=json", content=exported.content, headers=bob.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["created"]["tasks"] == created
    again = client.get("/api/v1/export", headers=bob.headers).json()
    assert sorted(task["title"] for task in again["tasks"]) == ["alice's", "bob's"]
    csv_rows = client.get("/api/v1/export?format=csv", headers=alice.headers).text.splitlines()
    assert len(csv_rows) == 2


def test_the_change_feed_and_its_purge_work_under_rls(
    rls_database: RlsDatabase, rls_client: TestClient
) -> None:
    from datetime import timedelta

    from app.database import create_db_engine
    from app.jobs.purge_changes import purge_old_changes
    from app.models.base import utcnow
    from app.services import changes as change_service

    client = rls_client
    alice, bob = make_account(client), make_account(client)
    mine = make_task(client, alice, title="alice's")
    theirs = make_task(client, bob, title="bob's")
    assert client.delete(f"/api/v1/tasks/{theirs['id']}", headers=bob.headers).status_code == 204
    seen = {
        entry["id"]
        for entry in client.get("/api/v1/changes", headers=alice.headers).json()["changes"]
    }
    assert mine["id"] in seen
    assert theirs["id"] not in seen
    engine = create_db_engine(make_settings(rls_database.app_url, Path("/nonexistent")))
    try:
        # As the app's role, with no user bound: no one's log rows are visible...
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM changes")).scalar() == 0
        # ...but the Redis relay, marking its transaction, sees whose changes came in.
        with Session(engine) as relay_session:
            _, owners = change_service.relay_owners(
                session=relay_session, after=change_service.Position(0, 0)
            )
        assert {str(owner) for owner in owners} >= {alice.id, bob.id}
        settings = make_settings(rls_database.app_url, Path("/nonexistent"))
        assert purge_old_changes(engine, settings) == 0
        assert purge_old_changes(engine, settings, now=utcnow() + timedelta(days=32)) >= 4
    finally:
        engine.dispose()
    owner = create_engine(rls_database.owner_url)
    try:
        with owner.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM changes")).scalar() == 0
    finally:
        owner.dispose()

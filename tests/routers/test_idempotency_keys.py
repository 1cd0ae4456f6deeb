"""Idempotency-Key on the POST routes (draft-ietf-httpapi-idempotency-key-header)."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from app.models import IdempotencyKey
from app.services.idempotency import purge_expired_keys
from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _keyed(account: Account, key: str) -> dict[str, str]:
    return {**account.headers, "Idempotency-Key": key}


def _titles(client: TestClient, account: Account) -> list[str]:
    items = client.get("/api/v1/tasks", headers=account.headers).json()["items"]
    return [item["title"] for item in items]


def test_a_retried_create_creates_one_task(client: TestClient, owner: Account) -> None:
    body = {"title": "Pay rent", "tags": ["home"]}
    first = client.post("/api/v1/tasks", json=body, headers=_keyed(owner, "rent-2026-12"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The response was lost; the client sends the same request again.
    retry = client.post("/api/v1/tasks", json=body, headers=_keyed(owner, "rent-2026-12"))
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["etag"] == first.headers["etag"]
    assert _titles(client, owner) == ["Pay rent"]


def test_the_drafts_quoted_form_is_a_key_too(client: TestClient, owner: Account) -> None:
    key = '"8e03978e-40d5-43e8-bc93-6894a57f9324"'
    first = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, key))
    again = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, key))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_the_same_json_spelled_differently_is_the_same_request(
    client: TestClient, owner: Account
) -> None:
    headers = {**_keyed(owner, "spelling"), "Content-Type": "application/json"}
    first = client.post(
        "/api/v1/tasks", content=b'{"title": "t", "priority": "low"}', headers=headers
    )
    again = client.post("/api/v1/tasks", content=b'{"priority":"low","title":"t"}', headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_a_key_reused_for_another_request_is_422(client: TestClient, owner: Account) -> None:
    client.post("/api/v1/tasks", json={"title": "one"}, headers=_keyed(owner, "reused"))
    other = client.post("/api/v1/tasks", json={"title": "two"}, headers=_keyed(owner, "reused"))
    assert assert_problem(other, 422)["type"] == "/problems/idempotency-key-reused"
    task_id = client.get("/api/v1/tasks", headers=owner.headers).json()["items"][0]["id"]
    # Another path is another request too.
    elsewhere = client.post(f"/api/v1/tasks/{task_id}/complete", headers=_keyed(owner, "reused"))
    assert_problem(elsewhere, 422)
    assert _titles(client, owner) == ["one"]


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there", "del\x7f"])
def test_a_malformed_key_is_400(client: TestClient, owner: Account, key: str) -> None:
    response = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, key))
    assert assert_problem(response, 400)["type"] == "/problems/invalid-idempotency-key"
    assert _titles(client, owner) == []


def test_keys_belong_to_their_user(client: TestClient, owner: Account) -> None:
    stranger = make_account(client)
    mine = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, "shared"))
    theirs = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(stranger, "shared"))
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_failed_request_stores_nothing(client: TestClient, owner: Account) -> None:
    missing = "/api/v1/tasks/7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11/complete"
    assert_problem(client.post(missing, headers=_keyed(owner, "retry-me")), 404)
    task = make_task(client, owner)
    assert_problem(
        client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers={**_keyed(owner, "stale"), "If-Match": '"9"'},
        ),
        412,
    )
    # Nothing was recorded under either key: they are free for the corrected request.
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=_keyed(owner, "stale"))
    assert done.status_code == 200
    assert "idempotent-replayed" not in done.headers


def test_complete_and_reopen_replay(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    url = f"/api/v1/tasks/{task['id']}"
    done = client.post(f"{url}/complete", headers=_keyed(owner, "done-1"))
    client.post(f"{url}/reopen", headers=owner.headers)
    replay = client.post(f"{url}/complete", headers=_keyed(owner, "done-1"))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == done.json()  # the stored answer, not a second completion
    assert client.get(url, headers=owner.headers).json()["completed"] is False


def test_compat_create_replays(client: TestClient, owner: Account) -> None:
    base = f"/api/{owner.id}/tasks"
    first = client.post(base, json={"title": "t"}, headers=_keyed(owner, "compat"))
    again = client.post(base, json={"title": "t"}, headers=_keyed(owner, "compat"))
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len(client.get(base, headers=owner.headers).json()) == 1


def test_an_expired_key_runs_the_request_again(
    client: TestClient, owner: Account, session: Session
) -> None:
    client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, "old"))
    session.execute(
        update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25))
    )
    session.commit()
    again = client.post("/api/v1/tasks", json={"title": "t"}, headers=_keyed(owner, "old"))
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert _titles(client, owner) == ["t", "t"]


def test_purge_deletes_only_expired_keys(
    client: TestClient, owner: Account, session: Session
) -> None:
    for key in ("a", "b"):
        client.post("/api/v1/tasks", json={"title": key}, headers=_keyed(owner, key))
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "a")  # type: ignore[arg-type]
        .values(created_at=datetime.now(UTC) - timedelta(hours=30))
    )
    session.commit()
    deleted = purge_expired_keys(session=session, before=datetime.now(UTC) - timedelta(hours=24))
    assert deleted == 1
    assert [row.key for row in session.exec(select(IdempotencyKey)).all()] == ["b"]

"""GET /api/v1/changes: a snapshot, then every change since a cursor, from every write path."""

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.jobs.purge_trash import purge_expired
from app.models.base import utcnow
from app.services import changes as change_service
from tests.factories import Account, assert_problem, make_account, make_personal_token, make_task
from tests.feed_support import FEED, Replica, pull, server_state


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def test_snapshot_then_changes_replays_the_server_state(client: TestClient, owner: Account) -> None:
    replica = Replica()
    first = make_task(client, owner, title="first", tags=["home"])
    replica.sync(client, owner)
    assert replica.objects == server_state(client, owner)
    assert ("task", first["id"]) in replica.objects

    second = make_task(client, owner, title="second", tags=["work"])
    client.patch(f"/api/v1/tasks/{first['id']}", json={"title": "renamed"}, headers=owner.headers)
    entries = replica.sync(client, owner)
    assert {(e["kind"], e["id"]) for e in entries} >= {
        ("task", second["id"]),
        ("task", first["id"]),
    }
    assert replica.objects == server_state(client, owner)
    assert replica.objects[("task", first["id"])]["title"] == "renamed"


def test_snapshot_pages_in_small_pages(client: TestClient, owner: Account) -> None:
    for i in range(5):
        make_task(client, owner, title=f"t{i}", tags=[f"tag{i}"])
    pages = pull(client, owner, None, limit=2)
    assert len(pages) >= 6
    assert pages[0]["reset"]
    assert not any(page["reset"] for page in pages[1:])
    replica = Replica()
    for page in pages:
        replica.apply(page)
    assert replica.objects == server_state(client, owner)
    kinds = [entry["kind"] for page in pages for entry in page["changes"]]
    assert kinds == sorted(kinds, key=change_service.KINDS.index)


def test_delete_trash_restore_purge_give_tombstones_and_back(
    client: TestClient, owner: Account, session: Session
) -> None:
    replica = Replica()
    task = make_task(client, owner, title="doomed")
    replica.sync(client, owner)
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 204
    entries = replica.sync(client, owner)
    assert [(e["type"], e["id"]) for e in entries] == [("tombstone", task["id"])]
    assert ("task", task["id"]) not in replica.objects
    restored = client.post(f"/api/v1/trash/{task['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200
    entries = replica.sync(client, owner)
    assert [(e["type"], e["id"], e["version"]) for e in entries] == [
        ("object", task["id"], restored.json()["version"])
    ]
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 204
    replica.sync(client, owner)
    purge_expired(session, retention_days=1, now=utcnow() + timedelta(days=2))
    entries = replica.sync(client, owner)
    assert [(e["type"], e["id"]) for e in entries] == [("tombstone", task["id"])]
    assert replica.objects == server_state(client, owner)


def test_every_write_path_reaches_the_feed(client: TestClient, owner: Account) -> None:
    replica = Replica()
    replica.sync(client, owner)
    headers = owner.headers
    # Hackathon II routes
    compat = client.post(f"/api/{owner.id}/tasks", json={"title": "compat"}, headers=headers)
    assert compat.status_code == 201, compat.text
    compat_id = compat.json()["id"]
    client.patch(f"/api/{owner.id}/tasks/{compat_id}/complete", headers=headers)
    # batch
    batch = client.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "create", "temp_id": "b", "task": {"title": "b", "tags": ["x"]}},
                {"op": "complete", "id": "b"},
            ]
        },
        headers=headers,
    )
    assert batch.status_code == 200, batch.text
    replica.sync(client, owner)
    assert replica.objects == server_state(client, owner)
    # a tag rename renames it on its tasks
    tag = next(t for t in client.get("/api/v1/tags", headers=headers).json() if t["name"] == "x")
    assert (
        client.patch(f"/api/v1/tags/{tag['id']}", json={"name": "y"}, headers=headers).status_code
        == 200
    )
    entries = replica.sync(client, owner)
    assert {e["kind"] for e in entries} == {"tag", "task"}
    assert replica.objects == server_state(client, owner)
    # a list with a task, deleted (its tasks go to the trash or move)
    made = client.post("/api/v1/lists", json={"name": "errands"}, headers=headers).json()
    make_task(client, owner, title="in list", list_id=made["id"])
    replica.sync(client, owner)
    path = f"/api/v1/lists/{made['id']}"
    deleted = client.delete(path, params={"tasks": "trash"}, headers=headers)
    assert deleted.status_code == 204, deleted.text
    entries = replica.sync(client, owner)
    assert ("tombstone", "list", made["id"]) in {(e["type"], e["kind"], e["id"]) for e in entries}
    assert replica.objects == server_state(client, owner)
    # a tag deleted, and the trash emptied
    assert client.delete(f"/api/v1/tags/{tag['id']}", headers=headers).status_code == 204
    assert client.delete("/api/v1/trash", headers=headers).status_code == 204
    replica.sync(client, owner)
    assert replica.objects == server_state(client, owner)


def test_no_change_no_entries_and_the_same_cursor_works_again(
    client: TestClient, owner: Account
) -> None:
    pages = pull(client, owner, None)
    cursor = pages[-1]["cursor"]
    make_task(client, owner, title="one")
    again = pull(client, owner, cursor)
    assert sum(len(p["changes"]) for p in again) >= 1
    assert pull(client, owner, cursor)[0]["changes"] == again[0]["changes"]
    assert pull(client, owner, again[-1]["cursor"])[0]["changes"] == []


def test_another_users_changes_never_show(client: TestClient, owner: Account) -> None:
    other = make_account(client)
    make_task(client, other, title="not yours")
    entries = [e for p in pull(client, owner, None) for e in p["changes"]]
    cursor = pull(client, owner, None)[-1]["cursor"]
    make_task(client, other, title="still not yours")
    entries += [e for p in pull(client, owner, cursor) for e in p["changes"]]
    assert not any(e["kind"] == "task" for e in entries)


def _forge(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_malformed_or_foreign_cursor_is_400(client: TestClient, owner: Account) -> None:
    other = make_account(client)
    foreign = pull(client, other, None)[-1]["cursor"]
    problem = assert_problem(
        client.get(FEED, params={"since": foreign}, headers=owner.headers), 400
    )
    assert problem["type"] == "/problems/invalid-cursor"
    for bad in ("bm90LWpzb24", _forge({"v": 1, "p": [-1, 2], "at": 0}), _forge([1, 2]), "x"):
        problem = assert_problem(
            client.get(FEED, params={"since": bad}, headers=owner.headers), 400
        )
        assert problem["type"] == "/problems/invalid-cursor"


def test_cursor_older_than_retention_is_410(client: TestClient, owner: Account) -> None:
    old = change_service.Cursor(change_service.Position(0, 0), utcnow() - timedelta(days=31))
    token = change_service.encode(old, uuid.UUID(owner.id))
    problem = assert_problem(client.get(FEED, params={"since": token}, headers=owner.headers), 410)
    assert problem["type"] == "/problems/changes-gone"


def test_anonymous_is_401(client: TestClient) -> None:
    assert_problem(client.get(FEED), 401)


def test_a_personal_token_sees_the_kinds_its_scopes_read(
    client: TestClient, owner: Account
) -> None:
    make_task(client, owner, title="tagged", tags=["home"])
    seen = {}
    for scopes in (["tasks:read"], ["tasks:read", "lists:read"], ["tasks:read", "tags:read"]):
        token = make_personal_token(client, owner, scopes=scopes)["token"]
        response = client.get(FEED, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        seen[tuple(scopes)] = {entry["kind"] for entry in response.json()["changes"]}
    assert seen == {
        ("tasks:read",): {"task"},
        ("tasks:read", "lists:read"): {"task", "list"},
        ("tasks:read", "tags:read"): {"task", "tag"},
    }
    lacking = make_personal_token(client, owner, scopes=["lists:read", "tags:read"])["token"]
    assert_problem(client.get(FEED, headers={"Authorization": f"Bearer {lacking}"}), 403)


def test_a_recurring_completion_is_a_change(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, title="water", due="2026-12-01", recurrence="FREQ=DAILY")
    replica = Replica()
    replica.sync(client, owner)
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=owner.headers)
    assert done.status_code == 200, done.text
    entries = replica.sync(client, owner)
    assert [(e["id"], e["data"]["due"]) for e in entries] == [(task["id"], "2026-12-02")]
    assert replica.objects == server_state(client, owner)

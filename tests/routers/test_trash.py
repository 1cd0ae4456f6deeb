"""The trash: DELETE moves a task there, every other route stops showing it; restore, purge."""

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from app.jobs.purge_trash import purge_expired
from app.models.base import utcnow
from app.models.task import TASKS
from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _trash_ids(client: TestClient, account: Account) -> list[str]:
    response = client.get("/api/v1/trash", headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_delete_moves_to_the_trash_and_every_route_forgets_it(
    client: TestClient, owner: Account
) -> None:
    kept = make_task(client, owner, title="kept invoice", tags=["work"])
    gone = make_task(client, owner, title="gone invoice", tags=["work"], completed=True)
    assert client.delete(f"/api/v1/tasks/{gone['id']}", headers=owner.headers).status_code == 204
    path = f"/api/v1/tasks/{gone['id']}"
    assert_problem(client.get(path, headers=owner.headers), 404)
    assert_problem(client.patch(path, json={"title": "x"}, headers=owner.headers), 404)
    assert_problem(client.put(path, json={"title": "x"}, headers=owner.headers), 404)
    assert_problem(client.post(f"{path}/complete", headers=owner.headers), 404)
    assert_problem(client.post(f"{path}/reopen", headers=owner.headers), 404)
    assert_problem(client.delete(path, headers=owner.headers), 404)
    for params in ({}, {"q": "invoice"}, {"tag": "work"}, {"completed": "true"}):
        items = client.get("/api/v1/tasks", params=params, headers=owner.headers).json()["items"]
        assert [item["id"] for item in items] == ([] if params.get("completed") else [kept["id"]])
    stats = client.get("/api/v1/tasks/stats", headers=owner.headers).json()
    assert (stats["total"], stats["completed"]) == (1, 0)
    assert [(t["name"], t["total"]) for t in stats["by_tag"]] == [("work", 1)]
    tags = client.get("/api/v1/tags", headers=owner.headers).json()
    assert [(t["name"], t["total_tasks"]) for t in tags] == [("work", 1)]
    lists = client.get("/api/v1/lists", headers=owner.headers).json()
    assert [(item["open_tasks"], item["total_tasks"]) for item in lists] == [(1, 1)]
    compat = f"/api/{owner.id}/tasks"
    assert [t["id"] for t in client.get(compat, headers=owner.headers).json()] == [kept["id"]]
    assert_problem(client.get(f"{compat}/{gone['id']}", headers=owner.headers), 404)
    assert_problem(client.put(f"{compat}/{gone['id']}", json={}, headers=owner.headers), 404)
    assert_problem(client.patch(f"{compat}/{gone['id']}/complete", headers=owner.headers), 404)
    assert_problem(client.delete(f"{compat}/{gone['id']}", headers=owner.headers), 404)
    assert _trash_ids(client, owner) == [gone["id"]]


def test_trash_lists_newest_deletion_first_with_pages(client: TestClient, owner: Account) -> None:
    tasks = [make_task(client, owner, title=f"t{i}") for i in range(5)]
    for task in tasks:
        assert (
            client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 204
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/trash", params=params, headers=owner.headers).json()
        assert all(item["deleted_at"] for item in page["items"])
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["t4", "t3", "t2", "t1", "t0"]
    bad = client.get("/api/v1/trash", params={"cursor": "AAAA"}, headers=owner.headers)
    assert_problem(bad, 400)


def test_restore_brings_the_task_back(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, tags=["work"])
    client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    restored = client.post(f"/api/v1/trash/{task['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200
    assert restored.json()["tags"] == ["work"]
    assert restored.json()["list_id"] == task["list_id"]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 200
    assert _trash_ids(client, owner) == []
    # Not in the trash (any more): 404.
    again = client.post(f"/api/v1/trash/{task['id']}/restore", headers=owner.headers)
    assert_problem(again, 404)


def test_purge_one_and_empty_the_trash(client: TestClient, owner: Account) -> None:
    first, second, live = (make_task(client, owner) for _ in range(3))
    for task in (first, second):
        client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    # A live task is not in the trash: purging it through the trash is a 404.
    assert_problem(client.delete(f"/api/v1/trash/{live['id']}", headers=owner.headers), 404)
    assert client.delete(f"/api/v1/trash/{first['id']}", headers=owner.headers).status_code == 204
    assert _trash_ids(client, owner) == [second["id"]]
    assert client.delete("/api/v1/trash", headers=owner.headers).status_code == 204
    assert _trash_ids(client, owner) == []
    restore = client.post(f"/api/v1/trash/{second['id']}/restore", headers=owner.headers)
    assert_problem(restore, 404)
    assert client.get(f"/api/v1/tasks/{live['id']}", headers=owner.headers).status_code == 200


def test_permanent_delete_skips_the_trash(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    response = client.delete(f"/api/v1/tasks/{task['id']}?permanent=true", headers=owner.headers)
    assert response.status_code == 204
    assert _trash_ids(client, owner) == []
    assert_problem(client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers), 404)


def test_another_users_trash_is_invisible(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    intruder = make_account(client)
    assert _trash_ids(client, intruder) == []
    path = f"/api/v1/trash/{task['id']}"
    assert_problem(client.post(f"{path}/restore", headers=intruder.headers), 404)
    assert_problem(client.delete(path, headers=intruder.headers), 404)
    assert client.delete("/api/v1/trash", headers=intruder.headers).status_code == 204
    assert _trash_ids(client, owner) == [task["id"]]
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(client.delete(f"/api/v1/trash/{missing}", headers=owner.headers), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/trash"),
        ("DELETE", "/api/v1/trash"),
        ("POST", "/api/v1/trash/{id}/restore"),
        ("DELETE", "/api/v1/trash/{id}"),
    ],
)
def test_trash_anonymous_is_401(client: TestClient, owner: Account, method: str, path: str) -> None:
    task = make_task(client, owner)
    assert_problem(client.request(method, path.format(id=task["id"])), 401)


def test_trash_validation_is_422(client: TestClient, owner: Account) -> None:
    assert (
        "limit"
        in assert_problem(client.get("/api/v1/trash?limit=0", headers=owner.headers), 422)["detail"]
    )
    bad = client.delete(
        f"/api/v1/tasks/{make_task(client, owner)['id']}?permanent=maybe", headers=owner.headers
    )
    assert "permanent" in assert_problem(bad, 422)["detail"]


def test_purge_expired_deletes_only_old_trash(
    client: TestClient, owner: Account, session: Session
) -> None:
    old, recent, live = (make_task(client, owner, title=t) for t in ("old", "recent", "live"))
    for task in (old, recent):
        client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    # Trashed 31 days ago (the test's own transaction, which the purge below joins).
    session.execute(
        update(TASKS)
        .where(TASKS.c.id == uuid.UUID(old["id"]))
        .values(deleted_at=utcnow() - timedelta(days=31))
    )
    session.flush()
    deleted = purge_expired(session, retention_days=30)
    assert deleted == 1
    assert _trash_ids(client, owner) == [recent["id"]]
    assert client.get(f"/api/v1/tasks/{live['id']}", headers=owner.headers).status_code == 200


def test_the_hackathon_delete_moves_to_the_trash_too(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    deleted = client.delete(f"/api/{owner.id}/tasks/{task['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert _trash_ids(client, owner) == [task["id"]]

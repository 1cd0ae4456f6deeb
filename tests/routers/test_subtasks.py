"""Subtasks: parent_id, counts, ?parent=, completion down and reopening up, moves, the trash."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task
from tests.routers.test_lists import make_list


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _get(client: TestClient, account: Account, task: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _chain(client: TestClient, account: Account, depth: int, **fields: Any) -> list[dict[str, Any]]:
    """A task and `depth - 1` nested subtasks under it, top first."""
    chain = [make_task(client, account, title="level 1", **fields)]
    for level in range(2, depth + 1):
        chain.append(make_task(client, account, title=f"level {level}", parent_id=chain[-1]["id"]))
    return chain


def _parent_error(response: Any) -> None:
    problem = assert_problem(response, 422)
    assert problem["detail"] == "Invalid request: parent_id", problem


def test_subtasks_show_their_parent_and_counts(client: TestClient, owner: Account) -> None:
    parent = make_task(client, owner, title="parent")
    assert (parent["parent_id"], parent["subtask_count"], parent["open_subtask_count"]) == (
        None,
        0,
        0,
    )
    first = make_task(client, owner, title="first", parent_id=parent["id"])
    make_task(client, owner, title="second", parent_id=parent["id"], completed=True)
    assert first["parent_id"] == parent["id"]
    assert first["list_id"] == parent["list_id"]
    fetched = _get(client, owner, parent)
    assert (fetched["subtask_count"], fetched["open_subtask_count"]) == (2, 1)


def test_parent_filter(client: TestClient, owner: Account) -> None:
    parent = make_task(client, owner, title="parent")
    make_task(client, owner, title="child", parent_id=parent["id"])
    make_task(client, owner, title="alone")

    def titles(parent_value: str) -> list[str]:
        response = client.get(
            "/api/v1/tasks", params={"parent": parent_value}, headers=owner.headers
        )
        assert response.status_code == 200, response.text
        return sorted(item["title"] for item in response.json()["items"])

    assert titles("none") == ["alone", "parent"]
    assert titles(parent["id"]) == ["child"]
    assert titles(str(uuid.uuid4())) == []
    bad = client.get("/api/v1/tasks", params={"parent": "nobody"}, headers=owner.headers)
    assert "parent" in assert_problem(bad, 422)["detail"]


def test_at_most_four_levels(client: TestClient, owner: Account) -> None:
    chain = _chain(client, owner, 4)
    _parent_error(
        client.post(
            "/api/v1/tasks",
            json={"title": "5", "parent_id": chain[-1]["id"]},
            headers=owner.headers,
        )
    )
    # A two-level subtree does not fit under level 3 either.
    pair = _chain(client, owner, 2)
    _parent_error(
        client.patch(
            f"/api/v1/tasks/{pair[0]['id']}",
            json={"parent_id": chain[2]["id"]},
            headers=owner.headers,
        )
    )
    moved = client.patch(
        f"/api/v1/tasks/{pair[0]['id']}", json={"parent_id": chain[1]["id"]}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text
    assert _get(client, owner, chain[1])["subtask_count"] == 2


def test_cycles_are_refused(client: TestClient, owner: Account) -> None:
    chain = _chain(client, owner, 3)
    path = f"/api/v1/tasks/{chain[0]['id']}"
    for parent in (chain[0], chain[2]):
        _parent_error(client.patch(path, json={"parent_id": parent["id"]}, headers=owner.headers))


def test_a_parent_elsewhere_is_refused_without_revealing_anything(
    client: TestClient, owner: Account
) -> None:
    work = make_list(client, owner)
    in_work = make_task(client, owner, list_id=work["id"])
    inbox_task = make_task(client, owner)
    body = {"title": "x", "list_id": inbox_task["list_id"], "parent_id": in_work["id"]}
    _parent_error(client.post("/api/v1/tasks", json=body, headers=owner.headers))
    _parent_error(
        client.patch(
            f"/api/v1/tasks/{inbox_task['id']}",
            json={"parent_id": in_work["id"], "list_id": inbox_task["list_id"]},
            headers=owner.headers,
        )
    )
    intruder = make_account(client)
    for parent_id in (in_work["id"], str(uuid.uuid4())):
        response = client.post(
            "/api/v1/tasks", json={"title": "x", "parent_id": parent_id}, headers=intruder.headers
        )
        _parent_error(response)
    trashed = make_task(client, owner)
    client.delete(f"/api/v1/tasks/{trashed['id']}", headers=owner.headers)
    _parent_error(
        client.post(
            "/api/v1/tasks", json={"title": "x", "parent_id": trashed["id"]}, headers=owner.headers
        )
    )


def test_completing_a_task_completes_its_subtasks(client: TestClient, owner: Account) -> None:
    chain = _chain(client, owner, 4)
    done = client.post(f"/api/v1/tasks/{chain[0]['id']}/complete", headers=owner.headers)
    assert done.status_code == 200, done.text
    assert done.json()["completed"] is True
    assert done.json()["open_subtask_count"] == 0
    for task in chain:
        fetched = _get(client, owner, task)
        assert fetched["completed"] is True
        assert fetched["completed_at"] is not None
    # Reopening the deepest task reopens every ancestor: no open task under a completed one.
    reopened = client.post(f"/api/v1/tasks/{chain[3]['id']}/reopen", headers=owner.headers)
    assert reopened.json()["completed"] is False
    assert [_get(client, owner, task)["completed"] for task in chain] == [False] * 4
    assert [_get(client, owner, task)["open_subtask_count"] for task in chain] == [1, 1, 1, 0]


def test_patch_completed_cascades_too(client: TestClient, owner: Account) -> None:
    parent, child = _chain(client, owner, 2)
    response = client.patch(
        f"/api/v1/tasks/{parent['id']}", json={"completed": True}, headers=owner.headers
    )
    assert response.json()["completed"] is True
    assert _get(client, owner, child)["completed"] is True
    # An open subtask added under a completed task reopens it.
    make_task(client, owner, parent_id=parent["id"])
    assert _get(client, owner, parent)["completed"] is False


def test_moving_a_task_to_another_list_takes_its_subtasks(
    client: TestClient, owner: Account
) -> None:
    work = make_list(client, owner)
    chain = _chain(client, owner, 3)
    moved = client.patch(
        f"/api/v1/tasks/{chain[1]['id']}", json={"list_id": work["id"]}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text
    # It leaves its parent (which stays in the Inbox) and takes its own subtask along.
    assert (moved.json()["parent_id"], moved.json()["subtask_count"]) == (None, 1)
    assert _get(client, owner, chain[2])["list_id"] == work["id"]
    assert _get(client, owner, chain[2])["parent_id"] == chain[1]["id"]
    assert _get(client, owner, chain[0])["subtask_count"] == 0


def test_trash_takes_the_subtasks_and_restore_brings_them_back(
    client: TestClient, owner: Account
) -> None:
    chain = _chain(client, owner, 3)
    assert (
        client.delete(f"/api/v1/tasks/{chain[1]['id']}", headers=owner.headers).status_code == 204
    )
    for task in chain[1:]:
        assert_problem(client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers), 404)
    assert _get(client, owner, chain[0])["subtask_count"] == 0
    trash = client.get("/api/v1/trash", headers=owner.headers).json()["items"]
    assert {item["id"] for item in trash} == {chain[1]["id"], chain[2]["id"]}
    restored = client.post(f"/api/v1/trash/{chain[1]['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["parent_id"] == chain[0]["id"]
    assert _get(client, owner, chain[2])["parent_id"] == chain[1]["id"]
    assert _get(client, owner, chain[0])["subtask_count"] == 1


def test_a_subtask_restored_without_its_parent_becomes_top_level(
    client: TestClient, owner: Account
) -> None:
    parent, child = _chain(client, owner, 2)
    client.delete(f"/api/v1/tasks/{child['id']}", headers=owner.headers)
    client.delete(f"/api/v1/tasks/{parent['id']}", headers=owner.headers)
    restored = client.post(f"/api/v1/trash/{child['id']}/restore", headers=owner.headers)
    assert restored.json()["parent_id"] is None


def test_deleting_for_good_deletes_the_subtasks(client: TestClient, owner: Account) -> None:
    chain = _chain(client, owner, 3)
    response = client.delete(
        f"/api/v1/tasks/{chain[1]['id']}?permanent=true", headers=owner.headers
    )
    assert response.status_code == 204
    assert_problem(client.get(f"/api/v1/tasks/{chain[2]['id']}", headers=owner.headers), 404)
    assert client.get("/api/v1/trash", headers=owner.headers).json()["items"] == []
    assert _get(client, owner, chain[0])["subtask_count"] == 0


def test_hackathon_routes_do_not_show_subtask_fields(client: TestClient, owner: Account) -> None:
    parent, _ = _chain(client, owner, 2)
    compat = client.get(f"/api/{owner.id}/tasks/{parent['id']}", headers=owner.headers).json()
    assert {"parent_id", "subtask_count", "open_subtask_count", "list_id"}.isdisjoint(compat)

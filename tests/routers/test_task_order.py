"""Manual order: `position`, `POST /api/v1/tasks/{id}/move`, `sort=position` (issue 16)."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update

from app.models.task import TASKS
from tests.factories import Account, assert_problem, make_account, make_task
from tests.routers.test_lists import make_list


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _move(client: TestClient, account: Account, task: dict[str, Any], **body: Any) -> Any:
    return client.post(f"/api/v1/tasks/{task['id']}/move", json=body, headers=account.headers)


def _moved(client: TestClient, account: Account, task: dict[str, Any], **body: Any) -> Any:
    response = _move(client, account, task, **body)
    assert response.status_code == 200, response.text
    return response.json()


def _order(client: TestClient, account: Account, **params: Any) -> list[str]:
    """Titles in manual order, every page followed (two tasks a page: keyset pagination)."""
    titles: list[str] = []
    query = {"sort": "position", "limit": 2, **params}
    while True:
        response = client.get("/api/v1/tasks", params=query, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        titles += [task["title"] for task in page["items"]]
        if page["next_cursor"] is None:
            return titles
        query["cursor"] = page["next_cursor"]


def _tasks(client: TestClient, account: Account, *titles: str, **fields: Any) -> list[Any]:
    return [make_task(client, account, title=title, **fields) for title in titles]


def test_new_tasks_go_last(client: TestClient, owner: Account) -> None:
    a, b, c = _tasks(client, owner, "a", "b", "c")
    assert a["position"] < b["position"] < c["position"]
    assert _order(client, owner, parent="none") == ["a", "b", "c"]
    assert _order(client, owner, parent="none", sort="-position") == ["c", "b", "a"]


def test_move_before_after_and_last(client: TestClient, owner: Account) -> None:
    a, b, c, d = _tasks(client, owner, "a", "b", "c", "d")
    moved = _moved(client, owner, d, before=b["id"])
    assert moved["version"] == 2
    assert _order(client, owner) == ["a", "d", "b", "c"]
    _moved(client, owner, a, after=c["id"])
    assert _order(client, owner) == ["d", "b", "c", "a"]
    _moved(client, owner, d)  # no neighbour: last
    assert _order(client, owner) == ["b", "c", "a", "d"]
    _moved(client, owner, d, before=b["id"])  # first
    assert _order(client, owner) == ["d", "b", "c", "a"]
    _moved(client, owner, b, after=c["id"], before=a["id"])
    assert _order(client, owner) == ["d", "c", "b", "a"]


def test_a_move_writes_the_moved_task_alone(client: TestClient, owner: Account) -> None:
    tasks = _tasks(client, owner, "a", "b", "c", "d", "e")
    before = {t["id"]: (t["position"], t["version"]) for t in tasks}
    for _ in range(12):  # always between the first two: keys get longer, never collide
        _moved(client, owner, tasks[4], after=tasks[0]["id"])
        _moved(client, owner, tasks[3], after=tasks[0]["id"])
    for task in tasks[:3]:
        fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json()
        assert (fetched["position"], fetched["version"]) == before[task["id"]]
    assert _order(client, owner) == ["a", "d", "e", "b", "c"]


def test_move_into_another_list_and_under_a_parent(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, name="Work")
    first, second = _tasks(client, owner, "first", "second", list_id=work["id"])
    inbox_task, child = _tasks(client, owner, "inbox task", "child")
    grandchild = make_task(client, owner, title="grandchild", parent_id=child["id"])

    # Another list, right before `second`: its subtasks go along.
    moved = _moved(client, owner, child, list_id=work["id"], before=second["id"])
    assert (moved["list_id"], moved["parent_id"]) == (work["id"], None)
    assert _order(client, owner, list=work["id"], parent="none") == ["first", "child", "second"]
    fetched = client.get(f"/api/v1/tasks/{grandchild['id']}", headers=owner.headers).json()
    assert (fetched["list_id"], fetched["parent_id"]) == (work["id"], child["id"])

    # Under a parent (the list follows the parent), last among its subtasks.
    moved = _moved(client, owner, inbox_task, parent_id=first["id"])
    assert (moved["list_id"], moved["parent_id"]) == (work["id"], first["id"])
    # Before the grandchild, among the child's subtasks.
    _moved(client, owner, second, parent_id=child["id"], before=grandchild["id"])
    assert _order(client, owner, parent=child["id"]) == ["second", "grandchild"]
    parent = client.get(f"/api/v1/tasks/{child['id']}", headers=owner.headers).json()
    assert parent["subtask_count"] == 2
    # Back to the top level.
    _moved(client, owner, second, parent_id=None, after=first["id"])
    assert _order(client, owner, list=work["id"], parent="none") == ["first", "second", "child"]


def test_patching_the_list_or_parent_puts_the_task_last(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, name="Work")
    mover = make_task(client, owner, title="mover")
    _tasks(client, owner, "w1", "w2", list_id=work["id"])
    response = client.patch(
        f"/api/v1/tasks/{mover['id']}", json={"list_id": work["id"]}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert _order(client, owner, list=work["id"]) == ["w1", "w2", "mover"]


def test_neighbours_must_be_siblings(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, name="Work")
    a, b = _tasks(client, owner, "a", "b")
    (elsewhere,) = _tasks(client, owner, "elsewhere", list_id=work["id"])
    child = make_task(client, owner, title="child", parent_id=a["id"])
    stranger = make_account(client)
    (theirs,) = _tasks(client, stranger, "theirs")

    def refused(field: str, **body: Any) -> None:
        problem = assert_problem(_move(client, owner, b, **body), 422)
        assert problem["detail"] == f"Invalid request: {field}", problem

    refused("before", before=elsewhere["id"])  # another list
    refused("after", after=child["id"])  # another parent
    refused("before", before=b["id"])  # itself
    refused("before", before=theirs["id"])  # another user's: no different from a missing one
    refused("after", after=str(uuid.uuid4()))
    refused("before", before=a["id"], after=a["id"])
    refused("list_id", list_id=str(uuid.uuid4()))
    refused("list_id", list_id=make_list(client, stranger, name="Theirs")["id"])
    refused("parent_id", parent_id=b["id"])  # itself
    refused("parent_id", parent_id=theirs["id"])
    problem = assert_problem(_move(client, owner, b, before="not-an-id"), 422)
    assert "before" in str(problem), problem
    _moved(client, owner, b, before=a["id"])
    refused("before", before=b["id"], after=a["id"])  # `after` must come first
    assert _order(client, owner, parent="none", list=a["list_id"]) == ["b", "a"]


def test_moves_of_missing_or_foreign_tasks_are_404(client: TestClient, owner: Account) -> None:
    stranger = make_account(client)
    (theirs,) = _tasks(client, stranger, "theirs")
    assert_problem(_move(client, owner, theirs), 404)
    assert_problem(_move(client, owner, {"id": str(uuid.uuid4())}), 404)
    trashed = make_task(client, owner, title="trashed")
    assert client.delete(f"/api/v1/tasks/{trashed['id']}", headers=owner.headers).status_code == 204
    assert_problem(_move(client, owner, trashed), 404)
    response = client.post(f"/api/v1/tasks/{theirs['id']}/move", json={})
    assert_problem(response, 401)


def test_if_match_and_idempotency_key(client: TestClient, owner: Account) -> None:
    a, b = _tasks(client, owner, "a", "b")
    url = f"/api/v1/tasks/{b['id']}/move"
    stale = client.post(url, json={"before": a["id"]}, headers={**owner.headers, "If-Match": '"9"'})
    problem = assert_problem(stale, 412)
    assert problem["version"] == 1
    fresh = client.post(url, json={"before": a["id"]}, headers={**owner.headers, "If-Match": '"1"'})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["etag"] == '"2"'

    keyed = {**owner.headers, "Idempotency-Key": "move-b-last"}
    first = client.post(url, json={}, headers=keyed)
    again = client.post(url, json={}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    current = client.get(f"/api/v1/tasks/{b['id']}", headers=owner.headers).json()
    assert current["version"] == 3  # the retry moved nothing
    assert _order(client, owner) == ["a", "b"]


def test_a_restored_task_keeps_its_place_unless_taken(client: TestClient, owner: Account) -> None:
    a, b, _ = _tasks(client, owner, "a", "b", "c")
    x = make_task(client, owner, title="x")
    _moved(client, owner, x, after=a["id"])
    assert client.delete(f"/api/v1/tasks/{b['id']}", headers=owner.headers).status_code == 204
    restored = client.post(f"/api/v1/trash/{b['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["position"] == b["position"]
    assert _order(client, owner) == ["a", "x", "b", "c"]
    # x leaves for the trash; y is moved into the same gap, so takes the same key.
    assert client.delete(f"/api/v1/tasks/{x['id']}", headers=owner.headers).status_code == 204
    y = make_task(client, owner, title="y")
    assert _moved(client, owner, y, after=a["id"])["position"] == _position(client, owner, x)
    restored = client.post(f"/api/v1/trash/{x['id']}/restore", headers=owner.headers)
    assert restored.json()["position"] != _position(client, owner, y)
    assert _order(client, owner) == ["a", "y", "b", "c", "x"]


def _position(client: TestClient, account: Account, task: dict[str, Any]) -> str:
    trashed = client.get("/api/v1/trash", headers=account.headers).json()["items"]
    for item in trashed:
        if item["id"] == task["id"]:
            return str(item["position"])
    fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers).json()
    return str(fetched["position"])


def test_tied_positions_are_untied_by_a_move(
    client: TestClient, owner: Account, connection: Connection
) -> None:
    """Rows written outside the API may share a key; a move between them still lands exactly
    where asked, and leaves every key distinct."""
    a, b, c, d = _tasks(client, owner, "a", "b", "c", "d")
    ids = sorted([a["id"], b["id"], c["id"]])
    connection.execute(
        update(TASKS)
        .where(TASKS.c.id.in_([uuid.UUID(task_id) for task_id in ids]))
        .values(position="a1")
    )
    by_id = {a["id"]: "a", b["id"]: "b", c["id"]: "c"}
    tied = [by_id[task_id] for task_id in ids]
    assert _order(client, owner)[:3] == tied
    _moved(client, owner, d, before=ids[1])
    assert _order(client, owner) == [tied[0], "d", tied[1], tied[2]]
    page = client.get("/api/v1/tasks", params={"sort": "position"}, headers=owner.headers)
    positions = [task["position"] for task in page.json()["items"]]
    assert positions == sorted(set(positions))


def test_batch_move(client: TestClient, owner: Account) -> None:
    (a,) = _tasks(client, owner, "a")
    response = client.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "create", "temp_id": "b", "task": {"title": "b"}},
                {"op": "create", "temp_id": "c", "task": {"title": "c"}},
                {"op": "move", "id": "c", "before": a["id"]},
                {"op": "move", "id": "b", "parent_id": "c"},
            ]
        },
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["op"] for r in results] == ["create", "create", "move", "move"]
    assert results[3]["task"]["parent_id"] == results[1]["id"]
    assert _order(client, owner, parent="none") == ["c", "a"]
    failed = client.post(
        "/api/v1/tasks/batch",
        json={"operations": [{"op": "move", "id": a["id"], "before": str(uuid.uuid4())}]},
        headers=owner.headers,
    )
    problem = assert_problem(failed, 422)
    assert problem["index"] == 0

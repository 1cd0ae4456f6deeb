"""The lists API: the Inbox, CRUD with counts, moving tasks, filters, archived lists, deletion."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def make_list(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/lists", json={"name": "Work", **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _lists(client: TestClient, account: Account, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/lists", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def inbox(client: TestClient, account: Account) -> dict[str, Any]:
    return next(item for item in _lists(client, account) if item["inbox"])


def _titles(client: TestClient, account: Account, **params: Any) -> list[str]:
    response = client.get("/api/v1/tasks", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return sorted(item["title"] for item in response.json()["items"])


def test_a_new_account_has_exactly_one_inbox(client: TestClient, owner: Account) -> None:
    lists = _lists(client, owner)
    assert [(item["name"], item["inbox"], item["archived"]) for item in lists] == [
        ("Inbox", True, False)
    ]
    assert lists[0]["open_tasks"] == 0
    assert lists[0]["total_tasks"] == 0


def test_tasks_go_to_the_inbox_by_default(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    assert task["list_id"] == inbox(client, owner)["id"]


def test_create_list_and_tasks_in_it_with_counts(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, color="#1E88E5", position=2)
    assert (work["name"], work["color"], work["position"], work["inbox"]) == (
        "Work",
        "#1E88E5",
        2,
        False,
    )
    make_task(client, owner, title="a", list_id=work["id"])
    make_task(client, owner, title="b", list_id=work["id"], completed=True)
    make_task(client, owner, title="c")
    counts = {
        item["name"]: (item["open_tasks"], item["total_tasks"]) for item in _lists(client, owner)
    }
    assert counts == {"Inbox": (1, 1), "Work": (1, 2)}
    fetched = client.get(f"/api/v1/lists/{work['id']}", headers=owner.headers)
    assert fetched.status_code == 200
    assert (fetched.json()["open_tasks"], fetched.json()["total_tasks"]) == (1, 2)


def test_lists_are_ordered_by_position_then_name(client: TestClient, owner: Account) -> None:
    make_list(client, owner, name="b", position=1)
    make_list(client, owner, name="A", position=1)
    make_list(client, owner, name="first", position=0)
    assert [item["name"] for item in _lists(client, owner)] == ["first", "Inbox", "A", "b"]


def test_duplicate_name_is_409_naming_the_existing_list(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, name="Work")
    response = client.post("/api/v1/lists", json={"name": "  WORK "}, headers=owner.headers)
    body = assert_problem(response, 409)
    assert body["type"] == "/problems/list-name-taken"
    assert body["list_id"] == work["id"]
    other = make_list(client, owner, name="Home")
    renamed = client.patch(
        f"/api/v1/lists/{other['id']}", json={"name": "work"}, headers=owner.headers
    )
    assert assert_problem(renamed, 409)["list_id"] == work["id"]
    inbox_clash = client.post("/api/v1/lists", json={"name": "inbox"}, headers=owner.headers)
    assert assert_problem(inbox_clash, 409)["list_id"] == inbox(client, owner)["id"]


def test_the_same_name_for_two_users_is_fine(client: TestClient, owner: Account) -> None:
    make_list(client, owner, name="Work")
    make_list(client, make_account(client), name="Work")


def test_patch_list_changes_only_what_is_sent(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, color="#000000")
    response = client.patch(
        f"/api/v1/lists/{work['id']}", json={"position": 5}, headers=owner.headers
    )
    assert response.status_code == 200
    assert (response.json()["position"], response.json()["color"]) == (5, "#000000")
    cleared = client.patch(
        f"/api/v1/lists/{work['id']}", json={"color": None}, headers=owner.headers
    )
    assert cleared.json()["color"] is None


def test_the_inbox_can_be_renamed_but_not_archived_or_deleted(
    client: TestClient, owner: Account
) -> None:
    box = inbox(client, owner)
    renamed = client.patch(f"/api/v1/lists/{box['id']}", json={"name": "In"}, headers=owner.headers)
    assert renamed.status_code == 200
    assert renamed.json()["inbox"] is True
    archived = client.patch(
        f"/api/v1/lists/{box['id']}", json={"archived": True}, headers=owner.headers
    )
    assert assert_problem(archived, 409)["type"] == "/problems/inbox-protected"
    deleted = client.delete(f"/api/v1/lists/{box['id']}", headers=owner.headers)
    assert assert_problem(deleted, 409)["type"] == "/problems/inbox-protected"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "position": -1}, "position"),
        ({"name": "ok", "position": "1"}, "position"),
        ({"name": "ok", "archived": 1}, "archived"),
        ({"name": "ok", "inbox": True}, "inbox"),
    ],
)
def test_invalid_list_is_422_naming_the_field(
    client: TestClient, owner: Account, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/lists", json=body, headers=owner.headers)
    problem = assert_problem(response, 422)
    assert field in problem["detail"]


def test_patch_null_name_is_422(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    response = client.patch(
        f"/api/v1/lists/{work['id']}", json={"name": None}, headers=owner.headers
    )
    assert "name" in assert_problem(response, 422)["detail"]


def test_move_a_task_with_patch_list_id(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    task = make_task(client, owner)
    moved = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"list_id": work["id"]}, headers=owner.headers
    )
    assert moved.status_code == 200
    assert moved.json()["list_id"] == work["id"]
    # PUT without list_id leaves the task where it is.
    replaced = client.put(f"/api/v1/tasks/{task['id']}", json={"title": "t"}, headers=owner.headers)
    assert replaced.json()["list_id"] == work["id"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_another_users_list_is_a_422_naming_list_id(
    client: TestClient, owner: Account, method: str
) -> None:
    intruder = make_account(client)
    theirs = make_list(client, owner)["id"]
    task = make_task(client, intruder)
    for list_id in (theirs, str(uuid.uuid4())):
        body = {"title": "x", "list_id": list_id}
        path = "/api/v1/tasks" if method == "POST" else f"/api/v1/tasks/{task['id']}"
        response = client.request(method, path, json=body, headers=intruder.headers)
        problem = assert_problem(response, 422)
        # The same answer for a missing list and someone else's: nothing is revealed.
        assert problem["detail"] == "Invalid request: list_id"
        assert problem["errors"][0]["loc"] == ["body", "list_id"]
    assert make_task(client, owner, list_id=theirs)["list_id"] == theirs


@pytest.mark.parametrize("value", ["not-a-uuid", 5, None])
def test_malformed_list_id_is_422(client: TestClient, owner: Account, value: object) -> None:
    task = make_task(client, owner)
    response = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"list_id": value}, headers=owner.headers
    )
    assert "list_id" in assert_problem(response, 422)["detail"]


def test_filter_tasks_by_list_repeatable(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner, name="Work")
    home = make_list(client, owner, name="Home")
    make_task(client, owner, title="w", list_id=work["id"])
    make_task(client, owner, title="h", list_id=home["id"])
    make_task(client, owner, title="i")
    assert _titles(client, owner, list=work["id"]) == ["w"]
    assert _titles(client, owner, list=[work["id"], home["id"]]) == ["h", "w"]
    assert _titles(client, owner) == ["h", "i", "w"]
    bad = client.get("/api/v1/tasks", params={"list": "nope"}, headers=owner.headers)
    assert "list" in assert_problem(bad, 422)["detail"]


def test_another_users_list_filter_shows_nothing(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    make_task(client, owner, list_id=work["id"])
    intruder = make_account(client)
    make_task(client, intruder)
    assert _titles(client, intruder, list=work["id"]) == []


def test_archived_lists_and_their_tasks_are_hidden_unless_asked(
    client: TestClient, owner: Account
) -> None:
    old = make_list(client, owner, name="Old")
    make_task(client, owner, title="old", list_id=old["id"])
    make_task(client, owner, title="new")
    archived = client.patch(
        f"/api/v1/lists/{old['id']}", json={"archived": True}, headers=owner.headers
    )
    assert archived.json()["archived"] is True
    assert [item["name"] for item in _lists(client, owner)] == ["Inbox"]
    assert [item["name"] for item in _lists(client, owner, archived="true")] == ["Inbox", "Old"]
    assert _titles(client, owner) == ["new"]
    assert _titles(client, owner, archived="true") == ["new", "old"]
    stats = client.get("/api/v1/tasks/stats", headers=owner.headers).json()
    assert stats["total"] == 1
    stats = client.get("/api/v1/tasks/stats?archived=true", headers=owner.headers).json()
    assert stats["total"] == 2


def test_stats_per_list(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    make_task(client, owner, list_id=work["id"], completed=True)
    make_task(client, owner, list_id=work["id"])
    make_task(client, owner)
    stats = client.get("/api/v1/tasks/stats", params={"list": work["id"]}, headers=owner.headers)
    assert stats.status_code == 200
    assert (stats.json()["total"], stats.json()["open"]) == (2, 1)


def test_deleting_a_list_with_tasks_needs_a_say(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    task = make_task(client, owner, list_id=work["id"])
    refused = client.delete(f"/api/v1/lists/{work['id']}", headers=owner.headers)
    assert assert_problem(refused, 409)["type"] == "/problems/list-not-empty"
    bad = client.delete(f"/api/v1/lists/{work['id']}?tasks=elsewhere", headers=owner.headers)
    assert "tasks" in assert_problem(bad, 422)["detail"]
    moved = client.delete(f"/api/v1/lists/{work['id']}?tasks=inbox", headers=owner.headers)
    assert moved.status_code == 204
    fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json()
    assert fetched["list_id"] == inbox(client, owner)["id"]
    assert client.get(f"/api/v1/lists/{work['id']}", headers=owner.headers).status_code == 404


def test_deleting_a_list_into_the_trash(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    task = make_task(client, owner, list_id=work["id"])
    response = client.delete(f"/api/v1/lists/{work['id']}?tasks=trash", headers=owner.headers)
    assert response.status_code == 204
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 404
    trash = client.get("/api/v1/trash", headers=owner.headers).json()["items"]
    assert [item["id"] for item in trash] == [task["id"]]
    # Its list is gone: a restore puts it in the Inbox.
    restored = client.post(f"/api/v1/trash/{task['id']}/restore", headers=owner.headers)
    assert restored.json()["list_id"] == inbox(client, owner)["id"]


def test_an_empty_list_is_deleted_without_a_say(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    assert client.delete(f"/api/v1/lists/{work['id']}", headers=owner.headers).status_code == 204


def test_another_users_list_is_404(client: TestClient, owner: Account) -> None:
    work = make_list(client, owner)
    intruder = make_account(client)
    path = f"/api/v1/lists/{work['id']}"
    assert_problem(client.get(path, headers=intruder.headers), 404)
    assert_problem(client.patch(path, json={"name": "x"}, headers=intruder.headers), 404)
    assert_problem(client.delete(f"{path}?tasks=trash", headers=intruder.headers), 404)
    assert client.get(path, headers=owner.headers).json()["name"] == "Work"
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(client.get(f"/api/v1/lists/{missing}", headers=owner.headers), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/lists"),
        ("POST", "/api/v1/lists"),
        ("GET", "/api/v1/lists/{id}"),
        ("PATCH", "/api/v1/lists/{id}"),
        ("DELETE", "/api/v1/lists/{id}"),
    ],
)
def test_lists_anonymous_is_401(client: TestClient, owner: Account, method: str, path: str) -> None:
    list_id = inbox(client, owner)["id"]
    response = client.request(method, path.format(id=list_id), json={"name": "x"})
    assert_problem(response, 401)


def test_compat_routes_keep_their_shape_and_use_the_inbox(
    client: TestClient, owner: Account
) -> None:
    created = client.post(f"/api/{owner.id}/tasks", json={"title": "old"}, headers=owner.headers)
    assert created.status_code == 201
    assert "list_id" not in created.json()
    refused = client.post(
        f"/api/{owner.id}/tasks",
        json={"title": "old", "list_id": inbox(client, owner)["id"]},
        headers=owner.headers,
    )
    assert "list_id" in assert_problem(refused, 422)["detail"]
    fetched = client.get(f"/api/v1/tasks/{created.json()['id']}", headers=owner.headers)
    assert fetched.json()["list_id"] == inbox(client, owner)["id"]


def test_a_whole_number_written_as_a_float_is_a_position(
    client: TestClient, owner: Account
) -> None:
    # JSON Schema's "integer" includes 2.0, so the contract allows it.
    assert make_list(client, owner, position=2.0)["position"] == 2


def test_a_trashed_task_of_a_deleted_list_is_restored_to_the_inbox(
    client: TestClient, owner: Account
) -> None:
    work = make_list(client, owner)
    task = make_task(client, owner, list_id=work["id"])
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 204
    # Only trash left in it: the list goes without a say.
    assert client.delete(f"/api/v1/lists/{work['id']}", headers=owner.headers).status_code == 204
    restored = client.post(f"/api/v1/trash/{task['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200
    assert restored.json()["list_id"] == inbox(client, owner)["id"]

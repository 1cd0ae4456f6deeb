import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0
    return parsed


def test_create_task(client: TestClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/tasks",
        json={"title": "  Buy milk  ", "description": "2 litres"},
        headers=owner.headers,
    )
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 litres"
    assert task["completed"] is False
    assert task["completed_at"] is None
    uuid.UUID(task["id"])
    assert parse_time(task["created_at"]) == parse_time(task["updated_at"])
    fetched = client.get(response.headers["location"], headers=owner.headers)
    assert fetched.json() == task


def test_create_completed_task_sets_completed_at(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, completed=True)
    assert task["completed"] is True
    parse_time(task["completed_at"])


def test_create_ignores_read_only_fields(client: TestClient, owner: Account) -> None:
    original = make_task(client, owner, title="Round trip")
    echoed = dict(original, title="Round trip again")
    response = client.post("/api/v1/tasks", json=echoed, headers=owner.headers)
    assert response.status_code == 201
    assert response.json()["id"] != original["id"]
    assert response.json()["created_at"] != "2000-01-01T00:00:00Z"


def test_create_rejects_user_id_and_unknown_fields(client: TestClient, owner: Account) -> None:
    for field in ("user_id", "owner", "priority_level"):
        response = client.post(
            "/api/v1/tasks", json={"title": "x", field: "y"}, headers=owner.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", field]
        assert field in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   \t\n "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": 12}, "title"),
        ({"title": None}, "title"),
        ({}, "title"),
        ({"title": "ok", "description": "d" * 10_001}, "description"),
        ({"title": "ok", "completed": "maybe"}, "completed"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "description": "nul \x00 here"}, "description"),
        # Found by schemathesis: the contract says boolean, so 0 and "true" are not.
        ({"title": "ok", "completed": 0}, "completed"),
        ({"title": "ok", "completed": "true"}, "completed"),
        # Whitespace as Python (and the contract's pattern) defines it, even where trim() stops.
        ({"title": "\x1c\x1f"}, "title"),
    ],
)
def test_create_validation_errors(
    client: TestClient, owner: Account, payload: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/tasks", json=payload, headers=owner.headers)
    body = assert_problem(response, 422)
    assert ["body", field] in [error["loc"] for error in body["errors"]]
    assert all({"loc", "msg", "type"} == error.keys() for error in body["errors"])


def test_title_limits_count_characters_as_sent(client: TestClient, owner: Account) -> None:
    """The contract's maxLength counts the title as sent; the stored title is trimmed."""
    task = make_task(client, owner, title="  " + "é" * 251 + "  ")
    assert task["title"] == "é" * 251
    too_long = client.post("/api/v1/tasks", json={"title": " " + "é" * 255}, headers=owner.headers)
    assert_problem(too_long, 422)
    emoji = make_task(client, owner, title="🦄" * 255, description="ß" * 10_000)
    assert emoji["title"] == "🦄" * 255


def test_get_unknown_malformed_and_foreign_ids_are_the_same_404(
    client: TestClient, owner: Account
) -> None:
    other = make_account(client)
    foreign = make_task(client, other)
    answers = []
    for task_id in (str(uuid.uuid4()), "not-a-uuid", "123", foreign["id"]):
        response = client.get(f"/api/v1/tasks/{task_id}", headers=owner.headers)
        body = assert_problem(response, 404)
        answers.append((body["title"], body["detail"], body["type"]))
    assert len(set(answers)) == 1


def test_without_a_token_every_task_id_is_401_before_it_is_looked_at(
    client: TestClient,
) -> None:
    # The id is parsed after authentication: an anonymous caller learns nothing about ids.
    for task_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/complete")):
            response = client.request(method, f"/api/v1/tasks/{task_id}{suffix}")
            assert_problem(response, 401)


def test_patch_is_partial(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, title="Old", description="keep me")
    response = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": "New"}, headers=owner.headers
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "New"
    assert updated["description"] == "keep me"
    assert parse_time(updated["updated_at"]) > parse_time(task["updated_at"])
    assert updated["created_at"] == task["created_at"]


def test_patch_null_clears_description_but_not_title(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, description="temporary")
    cleared = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"description": None}, headers=owner.headers
    )
    assert cleared.json()["description"] is None
    for field in ("title", "completed"):
        response = client.patch(
            f"/api/v1/tasks/{task['id']}", json={field: None}, headers=owner.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", field]


def test_patch_completed_sets_and_clears_completed_at(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    done = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"completed": True}, headers=owner.headers
    ).json()
    assert done["completed"] is True
    assert done["completed_at"] is not None
    undone = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"completed": False}, headers=owner.headers
    ).json()
    assert undone["completed"] is False
    assert undone["completed_at"] is None


def test_patch_empty_body_changes_nothing(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    response = client.patch(f"/api/v1/tasks/{task['id']}", json={}, headers=owner.headers)
    assert response.json() == task


def test_put_replaces_client_fields(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, title="Old", description="gone after put")
    response = client.put(
        f"/api/v1/tasks/{task['id']}", json={"title": "Replaced"}, headers=owner.headers
    )
    assert response.status_code == 200
    replaced = response.json()
    assert replaced["title"] == "Replaced"
    assert replaced["description"] is None
    assert replaced["completed"] is False
    assert replaced["id"] == task["id"]
    missing_title = client.put(
        f"/api/v1/tasks/{task['id']}", json={"description": "x"}, headers=owner.headers
    )
    assert_problem(missing_title, 422)


def test_put_accepts_a_returned_task(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    response = client.put(
        f"/api/v1/tasks/{task['id']}",
        json=dict(task, title="Edited in place", completed=True),
        headers=owner.headers,
    )
    assert response.status_code == 200
    assert response.json()["completed"] is True


def test_complete_and_reopen_are_idempotent(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    first = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=owner.headers)
    assert first.status_code == 200
    done = first.json()
    assert done["completed"] is True
    parse_time(done["completed_at"])
    retry = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=owner.headers)
    assert retry.json() == done
    reopened = client.post(f"/api/v1/tasks/{task['id']}/reopen", headers=owner.headers).json()
    assert reopened["completed"] is False
    assert reopened["completed_at"] is None
    again = client.post(f"/api/v1/tasks/{task['id']}/reopen", headers=owner.headers).json()
    assert again == reopened


def test_delete_task(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    response = client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers), 404)
    assert_problem(client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers), 404)


def test_list_newest_first_with_completed_filter(client: TestClient, owner: Account) -> None:
    titles = [f"task {i}" for i in range(5)]
    created = [make_task(client, owner, title=title) for title in titles]
    client.post(f"/api/v1/tasks/{created[1]['id']}/complete", headers=owner.headers)
    everything = client.get("/api/v1/tasks", headers=owner.headers).json()
    assert [t["title"] for t in everything["items"]] == list(reversed(titles))
    assert everything["next_cursor"] is None
    done = client.get("/api/v1/tasks?completed=true", headers=owner.headers).json()
    assert [t["title"] for t in done["items"]] == ["task 1"]
    still_open = client.get("/api/v1/tasks?completed=false", headers=owner.headers).json()
    assert len(still_open["items"]) == 4


def _walk(
    client: TestClient, account: Account, limit: int, between_pages: object = None
) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/tasks", params=params, headers=account.headers).json()
        assert len(page["items"]) <= limit
        seen.extend(task["id"] for task in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if callable(between_pages):
            between_pages()


def test_pagination_visits_every_task_once(client: TestClient, owner: Account) -> None:
    ids = [make_task(client, owner, title=f"t{i}")["id"] for i in range(23)]
    seen = _walk(client, owner, limit=5)
    assert seen == list(reversed(ids))


def test_pagination_stable_while_tasks_are_added(client: TestClient, owner: Account) -> None:
    ids = [make_task(client, owner, title=f"t{i}")["id"] for i in range(17)]
    added: list[str] = []

    def add_one() -> None:
        added.append(make_task(client, owner, title="added meanwhile")["id"])

    seen = _walk(client, owner, limit=4, between_pages=add_one)
    assert len(seen) == len(set(seen))
    assert set(ids) <= set(seen)
    assert not set(added) & set(seen)


def test_list_limit_bounds(client: TestClient, owner: Account) -> None:
    for bad in ("0", "101", "-1", "ten"):
        body = assert_problem(client.get(f"/api/v1/tasks?limit={bad}", headers=owner.headers), 422)
        assert body["errors"][0]["loc"] == ["query", "limit"]
    assert client.get("/api/v1/tasks?limit=100", headers=owner.headers).status_code == 200


def test_list_forged_cursor_of_the_published_form_is_400(
    client: TestClient, owner: Account
) -> None:
    # Base64url like a real cursor, but not issued by the server: not JSON, or not a cursor.
    for cursor in ("bm90IGpzb24", "eyJrIjpbMV0sInEiOiJ4In0", "A"):
        response = client.get("/api/v1/tasks", params={"cursor": cursor}, headers=owner.headers)
        body = assert_problem(response, 400)
        assert body["type"] == "/problems/invalid-cursor"


def test_cursor_reused_with_other_filter_is_400(client: TestClient, owner: Account) -> None:
    for i in range(3):
        make_task(client, owner, title=f"t{i}")
    page = client.get("/api/v1/tasks?limit=1", headers=owner.headers).json()
    response = client.get(
        "/api/v1/tasks",
        params={"limit": 1, "completed": "false", "cursor": page["next_cursor"]},
        headers=owner.headers,
    )
    body = assert_problem(response, 400)
    assert body["type"] == "/problems/invalid-cursor"


def test_cursor_of_another_user_leaks_nothing(client: TestClient, owner: Account) -> None:
    other = make_account(client)
    for i in range(3):
        make_task(client, other, title=f"secret {i}")
    cursor = client.get("/api/v1/tasks?limit=1", headers=other.headers).json()["next_cursor"]
    response = client.get(
        "/api/v1/tasks", params={"cursor": cursor, "limit": 1}, headers=owner.headers
    )
    assert response.status_code == 200
    assert response.json()["items"] == []

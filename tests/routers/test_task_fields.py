"""Priority, due and tags on create, replace, patch and every response."""

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def test_defaults(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    assert task["priority"] == "none"
    assert task["due"] is None
    assert task["tags"] == []


def test_create_with_every_field(client: TestClient, owner: Account) -> None:
    task = make_task(
        client, owner, priority="high", due="2026-12-01", tags=["Work", " billing ", "work"]
    )
    assert task["priority"] == "high"
    assert task["due"] == "2026-12-01"
    # Trimmed, merged case-insensitively (first spelling wins), sorted by name.
    assert task["tags"] == ["billing", "Work"]
    fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json()
    assert fetched == task


def test_due_moment_keeps_the_instant_and_answers_in_utc(
    client: TestClient, owner: Account
) -> None:
    task = make_task(client, owner, due="2026-12-01T17:00:00+01:00")
    assert task["due"] == "2026-12-01T16:00:00Z"
    task = make_task(client, owner, due="2026-12-01T16:00:00Z")
    assert task["due"] == "2026-12-01T16:00:00Z"


@pytest.mark.parametrize(
    "due",
    [
        "2026-12-01T17:00:00",  # naive: which time zone?
        "2026-13-01",
        "2026-12-01 17:00",
        "tomorrow",
        "20261201",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        12,
    ],
)
def test_due_rejects_invalid_values(client: TestClient, owner: Account, due: object) -> None:
    response = client.post("/api/v1/tasks", json={"title": "x", "due": due}, headers=owner.headers)
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "due"]


@pytest.mark.parametrize("priority", ["urgent", "HIGH", 3, None])
def test_priority_rejects_invalid_values(
    client: TestClient, owner: Account, priority: object
) -> None:
    response = client.post(
        "/api/v1/tasks", json={"title": "x", "priority": priority}, headers=owner.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][:2] == ["body", "priority"]


def test_tag_name_limits(client: TestClient, owner: Account) -> None:
    ok = make_task(client, owner, tags=["x" * 50, "  padded  "])
    assert sorted(ok["tags"]) == sorted(["x" * 50, "padded"])
    for bad in (["x" * 51], [""], ["   "], ["a\x00b"], "work", [1]):
        response = client.post(
            "/api/v1/tasks", json={"title": "x", "tags": bad}, headers=owner.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"][:2] == ["body", "tags"], bad


def test_at_most_twenty_tags_after_merging(client: TestClient, owner: Account) -> None:
    twenty = [f"t{i}" for i in range(20)]
    task = make_task(client, owner, tags=[*twenty, "T0", "t1"])
    assert len(task["tags"]) == 20
    response = client.post(
        "/api/v1/tasks", json={"title": "x", "tags": [*twenty, "t20"]}, headers=owner.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "tags"]


def test_first_spelling_of_a_tag_wins_across_tasks(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["Home"])
    later = make_task(client, owner, tags=["HOME", "garden"])
    assert later["tags"] == ["garden", "Home"]
    tags = client.get("/api/v1/tags", headers=owner.headers).json()
    assert [tag["name"] for tag in tags] == ["garden", "Home"]


def test_patch_changes_only_sent_fields(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, priority="low", due="2026-12-01", tags=["a", "b"])
    url = f"/api/v1/tasks/{task['id']}"
    changed = client.patch(url, json={"priority": "medium"}, headers=owner.headers).json()
    assert (changed["priority"], changed["due"], changed["tags"]) == (
        "medium",
        "2026-12-01",
        ["a", "b"],
    )
    changed = client.patch(url, json={"tags": ["c"]}, headers=owner.headers).json()
    assert changed["tags"] == ["c"]
    assert changed["priority"] == "medium"
    changed = client.patch(
        url, json={"due": "2026-12-02T08:30:00-05:00"}, headers=owner.headers
    ).json()
    assert changed["due"] == "2026-12-02T13:30:00Z"
    changed = client.patch(url, json={"due": None, "tags": []}, headers=owner.headers).json()
    assert (changed["due"], changed["tags"]) == (None, [])
    assert client.get(url, headers=owner.headers).json() == changed


@pytest.mark.parametrize("field", ["priority", "tags"])
def test_patch_null_priority_or_tags_is_422(client: TestClient, owner: Account, field: str) -> None:
    task = make_task(client, owner)
    response = client.patch(
        f"/api/v1/tasks/{task['id']}", json={field: None}, headers=owner.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", field]


def test_put_resets_omitted_fields(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, priority="high", due="2026-12-01", tags=["a"])
    replaced = client.put(
        f"/api/v1/tasks/{task['id']}", json={"title": "again"}, headers=owner.headers
    ).json()
    assert (replaced["priority"], replaced["due"], replaced["tags"]) == ("none", None, [])
    # A returned task can be sent back as is.
    again = client.put(
        f"/api/v1/tasks/{task['id']}",
        json={**task, "title": "round trip"},
        headers=owner.headers,
    ).json()
    assert (again["priority"], again["due"], again["tags"]) == ("high", "2026-12-01", ["a"])


def test_complete_and_reopen_keep_tags(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, tags=["keep"])
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=owner.headers).json()
    assert done["tags"] == ["keep"]
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=owner.headers).json()
    assert again == done
    reopened = client.post(f"/api/v1/tasks/{task['id']}/reopen", headers=owner.headers).json()
    assert reopened["tags"] == ["keep"]


def test_deleting_a_task_keeps_its_tags(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, tags=["stays"])
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers).status_code == 204
    tags = client.get("/api/v1/tags", headers=owner.headers).json()
    assert [(t["name"], t["total_tasks"]) for t in tags] == [("stays", 0)]


def test_same_tag_name_for_two_users_is_two_tags(client: TestClient, owner: Account) -> None:
    other = make_account(client)
    mine = make_task(client, owner, tags=["shared"])
    theirs = make_task(client, other, tags=["SHARED"])
    assert mine["tags"] == ["shared"]
    assert theirs["tags"] == ["SHARED"]
    my_tags = client.get("/api/v1/tags", headers=owner.headers).json()
    their_tags = client.get("/api/v1/tags", headers=other.headers).json()
    assert my_tags[0]["id"] != their_tags[0]["id"]
    assert [t["total_tasks"] for t in my_tags] == [1]

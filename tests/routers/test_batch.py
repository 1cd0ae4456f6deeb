"""POST /api/v1/tasks/batch: several writes in one transaction, all or nothing (issue 17)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.factories import Account, assert_problem, make_account, make_task

BATCH = "/api/v1/tasks/batch"


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _batch(
    client: TestClient, account: Account, *operations: dict[str, Any], **headers: str
) -> Any:
    return client.post(
        BATCH, json={"operations": list(operations)}, headers={**account.headers, **headers}
    )


def _tasks(client: TestClient, account: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/tasks", headers=account.headers).json()[
        "items"
    ]
    return items


def test_a_batch_applies_every_operation(client: TestClient, owner: Account) -> None:
    existing = make_task(client, owner, title="old")
    doomed = make_task(client, owner, title="doomed")
    response = _batch(
        client,
        owner,
        {"op": "create", "temp_id": "trip", "task": {"title": "Plan the trip", "tags": ["fun"]}},
        {"op": "update", "id": "trip", "changes": {"priority": "high"}},
        {"op": "complete", "id": existing["id"], "if_match": 1},
        {"op": "reopen", "id": existing["id"]},
        {"op": "delete", "id": doomed["id"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    new_id = body["temp_ids"]["trip"]
    results = body["results"]
    assert [(r["index"], r["op"], r["status"]) for r in results] == [
        (0, "create", 201),
        (1, "update", 200),
        (2, "complete", 200),
        (3, "reopen", 200),
        (4, "delete", 204),
    ]
    assert results[0]["id"] == results[1]["id"] == new_id
    assert results[1]["task"]["priority"] == "high"
    assert results[1]["task"]["tags"] == ["fun"]
    assert results[1]["task"]["version"] == 2
    assert results[2]["task"]["completed"] is True
    assert results[3]["task"]["version"] == 3
    assert results[4]["task"] is None
    titles = sorted(task["title"] for task in _tasks(client, owner))
    assert titles == ["Plan the trip", "old"]


def test_one_failing_operation_writes_nothing(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, title="keep")
    response = _batch(
        client,
        owner,
        {"op": "create", "task": {"title": "never"}},
        {"op": "update", "id": task["id"], "changes": {"title": "changed"}},
        {"op": "delete", "id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11"},
    )
    problem = assert_problem(response, 404)
    assert problem["index"] == 2
    assert [t["title"] for t in _tasks(client, owner)] == ["keep"]


def test_a_stale_if_match_is_412_naming_the_operation(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "moved on"}, headers=owner.headers)
    response = _batch(
        client,
        owner,
        {"op": "create", "task": {"title": "never"}},
        {"op": "complete", "id": task["id"], "if_match": 1},
    )
    problem = assert_problem(response, 412)
    assert (problem["index"], problem["version"]) == (1, 2)
    assert response.headers["etag"] == '"2"'
    assert [t["title"] for t in _tasks(client, owner)] == ["moved on"]


@pytest.mark.parametrize(
    ("operation", "loc"),
    [
        ({"op": "create", "task": {}}, ["body", "operations", 1, "create", "task", "title"]),
        ({"op": "update", "id": "x", "changes": {"title": 5}}, None),
        ({"op": "explode", "id": "x"}, ["body", "operations", 1]),
        ({"op": "delete", "id": "x", "force": True}, ["body", "operations", 1, "delete", "force"]),
        ({"op": "complete", "id": "x", "if_match": "1"}, None),
        ({"op": "delete", "id": "no spaces allowed"}, None),
    ],
)
def test_a_bad_operation_is_422_naming_its_index(
    client: TestClient, owner: Account, operation: dict[str, Any], loc: list[Any] | None
) -> None:
    response = _batch(client, owner, {"op": "create", "task": {"title": "never"}}, operation)
    problem = assert_problem(response, 422)
    locations = [error["loc"] for error in problem["errors"]]
    assert all(location[:3] == ["body", "operations", 1] for location in locations), locations
    if loc is not None:
        assert loc in locations
    assert _tasks(client, owner) == []


@pytest.mark.parametrize(
    ("operations", "field"),
    [
        (
            [
                {"op": "delete", "id": "later"},
                {"op": "create", "temp_id": "later", "task": {"title": "t"}},
            ],
            "id",
        ),
        (
            [
                {"op": "create", "temp_id": "a", "task": {"title": "t"}},
                {"op": "create", "temp_id": "a", "task": {"title": "u"}},
            ],
            "temp_id",
        ),
    ],
)
def test_unknown_or_repeated_temp_ids_are_422(
    client: TestClient, owner: Account, operations: list[dict[str, Any]], field: str
) -> None:
    problem = assert_problem(_batch(client, owner, *operations), 422)
    assert problem["errors"][0]["loc"] == ["body", "operations", problem["index"], field]
    assert _tasks(client, owner) == []


def test_batch_size_limits(client: TestClient, owner: Account) -> None:
    assert_problem(_batch(client, owner), 422)
    many = [{"op": "create", "task": {"title": f"t{i}"}} for i in range(101)]
    assert_problem(_batch(client, owner, *many), 422)
    response = _batch(client, owner, *many[:100])
    assert response.status_code == 200
    assert len(response.json()["results"]) == 100


def test_another_users_task_is_404(client: TestClient, owner: Account) -> None:
    theirs = make_task(client, make_account(client))
    problem = assert_problem(_batch(client, owner, {"op": "complete", "id": theirs["id"]}), 404)
    assert problem["index"] == 0


def test_anonymous_is_401(client: TestClient) -> None:
    response = client.post(BATCH, json={"operations": [{"op": "create", "task": {"title": "t"}}]})
    assert_problem(response, 401)


def test_a_batch_honours_idempotency_key(client: TestClient, owner: Account) -> None:
    operations = [{"op": "create", "temp_id": "a", "task": {"title": "once"}}]
    first = _batch(client, owner, *operations, **{"Idempotency-Key": "sync-1"})
    again = _batch(client, owner, *operations, **{"Idempotency-Key": "sync-1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert [t["title"] for t in _tasks(client, owner)] == ["once"]


def test_require_if_match_applies_to_operations(make_client: ClientFactory) -> None:
    strict = make_client(require_if_match=True)
    owner = make_account(strict)
    task = make_task(strict, owner)
    problem = assert_problem(_batch(strict, owner, {"op": "complete", "id": task["id"]}), 428)
    assert problem["index"] == 0
    ok = _batch(strict, owner, {"op": "complete", "id": task["id"], "if_match": 1})
    assert ok.status_code == 200


def test_a_batch_counts_each_operation_against_the_rate_limit(
    make_client: ClientFactory,
) -> None:
    limited = make_client(rate_limit_enabled=True, rate_limit_per_user="10/minute")
    owner = make_account(limited)
    operations = [{"op": "create", "task": {"title": f"t{i}"}} for i in range(8)]
    response = _batch(limited, owner, *operations)
    assert response.status_code == 200
    assert response.headers["ratelimit"].startswith('"user";r=2;')
    # 8 counted: two more requests fit in the quota of 10, the third does not.
    for _ in range(2):
        assert limited.get("/api/v1/tasks", headers=owner.headers).status_code == 200
    assert_problem(limited.get("/api/v1/tasks", headers=owner.headers), 429)

"""ETags, If-None-Match (304) and If-Match (412, 428) on the task routes (issue 17)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _url(task: dict[str, Any], suffix: str = "") -> str:
    return f"/api/v1/tasks/{task['id']}{suffix}"


def _with(account: Account, **headers: str) -> dict[str, str]:
    return {**account.headers, **headers}


def test_a_new_task_is_version_1_with_its_etag(client: TestClient, owner: Account) -> None:
    response = client.post("/api/v1/tasks", json={"title": "t"}, headers=owner.headers)
    assert response.status_code == 201
    assert response.json()["version"] == 1
    assert response.headers["etag"] == '"1"'
    fetched = client.get(response.headers["location"], headers=owner.headers)
    assert fetched.headers["etag"] == '"1"'
    assert fetched.json()["version"] == 1


def test_every_write_is_a_new_version(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    steps = [
        ("PATCH", "", {"title": "renamed"}),
        ("PATCH", "", {"tags": ["home"]}),
        ("PUT", "", {"title": "replaced", "tags": ["home", "work"]}),
        ("POST", "/complete", None),
        ("POST", "/reopen", None),
    ]
    for expected, (method, suffix, body) in enumerate(steps, start=2):
        response = client.request(method, _url(task, suffix), json=body, headers=owner.headers)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == expected
        assert response.headers["etag"] == f'"{expected}"'


def test_an_unchanged_complete_keeps_the_version(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, completed=True)
    response = client.post(_url(task, "/complete"), headers=owner.headers)
    assert response.json()["version"] == 1
    # Nothing sent, nothing changed.
    assert client.patch(_url(task), json={}, headers=owner.headers).json()["version"] == 1


def test_renaming_or_deleting_a_tag_changes_its_tasks_versions(
    client: TestClient, owner: Account
) -> None:
    tagged = make_task(client, owner, tags=["errand"])
    other = make_task(client, owner)
    tag_id = client.get("/api/v1/tags", headers=owner.headers).json()[0]["id"]
    assert client.patch(
        f"/api/v1/tags/{tag_id}", json={"name": "chore"}, headers=owner.headers
    ).is_success
    assert client.get(_url(tagged), headers=owner.headers).json()["version"] == 2
    assert client.delete(f"/api/v1/tags/{tag_id}", headers=owner.headers).status_code == 204
    after = client.get(_url(tagged), headers=owner.headers).json()
    assert (after["version"], after["tags"]) == (3, [])
    assert client.get(_url(other), headers=owner.headers).json()["version"] == 1


def test_if_none_match_on_a_task_answers_304(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    for header in ('"1"', 'W/"1"', '"7", "1"', "*"):
        response = client.get(_url(task), headers=_with(owner, **{"If-None-Match": header}))
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == '"1"'
    client.patch(_url(task), json={"title": "changed"}, headers=owner.headers)
    response = client.get(_url(task), headers=_with(owner, **{"If-None-Match": '"1"'}))
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'


def test_if_none_match_never_reveals_another_users_task(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    stranger = make_account(client)
    response = client.get(_url(task), headers=_with(stranger, **{"If-None-Match": "*"}))
    assert_problem(response, 404)


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/tasks/stats", "/api/{id}/tasks"])
def test_listing_and_stats_send_a_weak_etag(client: TestClient, owner: Account, path: str) -> None:
    path = path.format(id=owner.id)
    make_task(client, owner)
    first = client.get(path, headers=owner.headers)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = client.get(path, headers=_with(owner, **{"If-None-Match": etag}))
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    make_task(client, owner, title="another")
    changed = client.get(path, headers=_with(owner, **{"If-None-Match": etag}))
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_stats_body_is_unchanged_by_the_etag(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["a"], priority="high")
    stats = client.get("/api/v1/tasks/stats", headers=owner.headers).json()
    assert stats["total"] == 1
    assert stats["by_priority"]["high"] == {"open": 1, "total": 1}
    assert stats["by_tag"][0]["name"] == "a"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"title": "mine"}),
        ("PUT", "", {"title": "mine"}),
        ("DELETE", "", None),
        ("POST", "/complete", None),
        ("POST", "/reopen", None),
    ],
)
def test_a_stale_if_match_is_412_and_writes_nothing(
    client: TestClient, owner: Account, method: str, suffix: str, body: Any
) -> None:
    task = make_task(client, owner, completed=suffix == "/reopen")
    client.patch(_url(task), json={"title": "theirs"}, headers=owner.headers)  # now version 2
    response = client.request(
        method, _url(task, suffix), json=body, headers=_with(owner, **{"If-Match": '"1"'})
    )
    problem = assert_problem(response, 412)
    assert problem["version"] == 2
    assert problem["type"] == "/problems/precondition-failed"
    assert response.headers["etag"] == '"2"'
    current = client.get(_url(task), headers=owner.headers).json()
    assert (current["title"], current["version"]) == ("theirs", 2)


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status"),
    [
        ("PATCH", "", {"title": "mine"}, 200),
        ("PUT", "", {"title": "mine"}, 200),
        ("POST", "/complete", None, 200),
        ("DELETE", "", None, 204),
    ],
)
def test_a_current_if_match_writes(
    client: TestClient, owner: Account, method: str, suffix: str, body: Any, status: int
) -> None:
    task = make_task(client, owner)
    response = client.request(
        method, _url(task, suffix), json=body, headers=_with(owner, **{"If-Match": '"1"'})
    )
    assert response.status_code == status, response.text
    if status == 204:
        assert client.get(_url(task), headers=owner.headers).status_code == 404


@pytest.mark.parametrize("header", ['"9", "1"', "*", ' "1" '])
def test_if_match_lists_and_star(client: TestClient, owner: Account, header: str) -> None:
    task = make_task(client, owner)
    response = client.patch(
        _url(task), json={"title": "x"}, headers=_with(owner, **{"If-Match": header})
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'


def test_if_match_on_a_missing_or_foreign_task_is_404(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner)
    stranger = make_account(client)
    headers = _with(stranger, **{"If-Match": '"1"'})
    assert_problem(client.patch(_url(task), json={"title": "x"}, headers=headers), 404)
    assert_problem(client.delete(_url(task), headers=headers), 404)
    missing = "/api/v1/tasks/7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11"
    assert_problem(client.post(f"{missing}/complete", headers=headers), 404)


@pytest.mark.parametrize("header", ['W/"1"', "1", '"one"', ""])
def test_an_if_match_that_can_never_match_is_412(
    client: TestClient, owner: Account, header: str
) -> None:
    task = make_task(client, owner)
    response = client.patch(
        _url(task), json={"title": "x"}, headers=_with(owner, **{"If-Match": header})
    )
    assert assert_problem(response, 412)["version"] == 1


def test_if_match_with_an_unchanged_complete(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, completed=True)
    ok = client.post(_url(task, "/complete"), headers=_with(owner, **{"If-Match": '"1"'}))
    assert ok.status_code == 200
    stale = client.post(_url(task, "/complete"), headers=_with(owner, **{"If-Match": '"5"'}))
    assert assert_problem(stale, 412)["version"] == 1
    empty = client.patch(_url(task), json={}, headers=_with(owner, **{"If-Match": '"5"'}))
    assert_problem(empty, 412)


def test_require_if_match_answers_428(make_client: ClientFactory) -> None:
    strict = make_client(require_if_match=True)
    owner = make_account(strict)
    task = make_task(strict, owner)  # creating needs no If-Match
    for method, suffix, body in [
        ("PATCH", "", {"title": "x"}),
        ("PUT", "", {"title": "x"}),
        ("DELETE", "", None),
        ("POST", "/complete", None),
        ("POST", "/reopen", None),
    ]:
        response = strict.request(method, _url(task, suffix), json=body, headers=owner.headers)
        assert assert_problem(response, 428)["type"] == "/problems/precondition-required"
    response = strict.patch(
        _url(task), json={"title": "x"}, headers=_with(owner, **{"If-Match": '"1"'})
    )
    assert response.status_code == 200
    assert strict.get(_url(task), headers=owner.headers).status_code == 200


def test_compat_routes_send_etags_and_honour_if_match(client: TestClient, owner: Account) -> None:
    base = f"/api/{owner.id}/tasks"
    created = client.post(base, json={"title": "t"}, headers=owner.headers)
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    url = f"{base}/{created.json()['id']}"
    got = client.get(url, headers=owner.headers)
    assert (got.headers["etag"], got.json()["version"]) == ('"1"', 1)
    assert client.get(url, headers=_with(owner, **{"If-None-Match": '"1"'})).status_code == 304
    updated = client.put(url, json={"title": "u"}, headers=_with(owner, **{"If-Match": '"1"'}))
    assert updated.headers["etag"] == '"2"'
    stale = client.put(url, json={"title": "v"}, headers=_with(owner, **{"If-Match": '"1"'}))
    assert assert_problem(stale, 412)["version"] == 2
    toggled = client.patch(f"{url}/complete", headers=_with(owner, **{"If-Match": '"2"'}))
    assert (toggled.status_code, toggled.headers["etag"]) == (200, '"3"')
    assert_problem(
        client.patch(f"{url}/complete", headers=_with(owner, **{"If-Match": '"2"'})), 412
    )
    assert_problem(client.delete(url, headers=_with(owner, **{"If-Match": '"2"'})), 412)
    assert client.delete(url, headers=_with(owner, **{"If-Match": '"3"'})).status_code == 204


def test_cors_allows_the_safe_write_headers(make_client: ClientFactory) -> None:
    spa = "http://127.0.0.2:5173"
    cors = make_client(cors_origins=[spa])
    preflight = cors.options(
        "/api/v1/tasks/some-id",
        headers={
            "Origin": spa,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, if-match, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"if-match", "if-none-match", "idempotency-key"} <= {
        name.strip() for name in allowed.split(",")
    }
    owner = make_account(cors)
    response = cors.post("/api/v1/tasks", json={"title": "t"}, headers=_with(owner, Origin=spa))
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed
    assert "idempotent-replayed" in exposed

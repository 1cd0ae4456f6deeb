"""Versions of lists and tags: ETag, If-Match on their writes (412 with the current version,
nothing written), and the version the change feed shows (issues 17 and 18)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _list(client: TestClient, owner: Account, name: str = "Work") -> dict[str, Any]:
    response = client.post("/api/v1/lists", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_list_has_a_version_that_every_change_bumps(client: TestClient, owner: Account) -> None:
    work = _list(client, owner)
    assert work["version"] == 1
    path = f"/api/v1/lists/{work['id']}"
    fetched = client.get(path, headers=owner.headers)
    assert fetched.headers["etag"] == '"1"'
    changed = client.patch(path, json={"color": "#00AA00"}, headers=owner.headers)
    assert (changed.json()["version"], changed.headers["etag"]) == (2, '"2"')
    unchanged = client.patch(path, json={}, headers=owner.headers)
    assert unchanged.json()["version"] == 2  # nothing sent, nothing changed


def test_if_match_on_list_writes(client: TestClient, owner: Account) -> None:
    work = _list(client, owner)
    path = f"/api/v1/lists/{work['id']}"
    stale = {**owner.headers, "If-Match": '"7"'}
    problem = assert_problem(client.patch(path, json={"name": "Jobs"}, headers=stale), 412)
    assert problem["version"] == 1
    assert "list has changed" in problem["detail"]
    assert_problem(client.delete(path, headers=stale), 412)
    current = client.get(path, headers=owner.headers).json()
    assert (current["name"], current["version"]) == ("Work", 1)  # nothing was written
    fresh = {**owner.headers, "If-Match": '"1"'}
    renamed = client.patch(path, json={"name": "Jobs"}, headers=fresh)
    assert renamed.status_code == 200, renamed.text
    assert_problem(client.delete(path, headers=fresh), 412)  # now at version 2
    assert client.delete(path, headers={**owner.headers, "If-Match": '"2"'}).status_code == 204
    # Another user's list: a 404 whatever If-Match says.
    theirs = _list(client, make_account(client), "Theirs")
    assert_problem(client.patch(f"/api/v1/lists/{theirs['id']}", json={}, headers=fresh), 404)


def test_if_match_on_tag_writes(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["home"])
    [tag] = client.get("/api/v1/tags", headers=owner.headers).json()
    assert tag["version"] == 1
    path = f"/api/v1/tags/{tag['id']}"
    stale = {**owner.headers, "If-Match": '"3"'}
    problem = assert_problem(client.patch(path, json={"name": "House"}, headers=stale), 412)
    assert (problem["version"], "tag has changed" in problem["detail"]) == (1, True)
    assert_problem(client.delete(path, headers=stale), 412)
    renamed = client.patch(
        path, json={"name": "House"}, headers={**owner.headers, "If-Match": '"1"'}
    )
    assert (renamed.json()["version"], renamed.headers["etag"]) == (2, '"2"')
    assert client.delete(path, headers={**owner.headers, "If-Match": '"2"'}).status_code == 204
    assert client.get("/api/v1/tags", headers=owner.headers).json() == []


def test_the_change_feed_shows_list_and_tag_versions(client: TestClient, owner: Account) -> None:
    work = _list(client, owner)
    client.patch(f"/api/v1/lists/{work['id']}", json={"position": 3}, headers=owner.headers)
    make_task(client, owner, tags=["home"])
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    while True:
        page = client.get("/api/v1/changes", params=params, headers=owner.headers).json()
        entries += page["changes"]
        if not page["has_more"]:
            break
        params = {"since": page["cursor"]}
    versions = {(e["kind"], e["data"].get("name")): e["version"] for e in entries}
    assert versions[("list", "Work")] == 2
    assert versions[("list", "Inbox")] == 1
    assert versions[("tag", "home")] == 1

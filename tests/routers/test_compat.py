"""The Hackathon II routes, /api/{user_id}/tasks, for local and provider users."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.factories import assert_problem, make_account
from tests.provider import AUDIENCE, ISSUER, JwksServer, claims, sign


@dataclass
class Caller:
    path_id: str
    headers: dict[str, str]

    def url(self, suffix: str = "") -> str:
        return f"/api/{self.path_id}/tasks{suffix}"


@pytest.fixture(scope="module")
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        server.add_key("EdDSA")
        yield server


@pytest.fixture
def cclient(make_client: ClientFactory, provider: JwksServer) -> TestClient:
    return make_client(auth_jwks_url=provider.url, auth_issuer=ISSUER, auth_audience=AUDIENCE)


def provider_caller(provider: JwksServer, sub: str | None = None) -> Caller:
    sub = sub or f"ba-{uuid.uuid4().hex[:12]}"
    token = sign(provider.keys[0], claims(sub=sub))
    return Caller(path_id=sub, headers={"Authorization": f"Bearer {token}"})


def local_caller(client: TestClient) -> Caller:
    account = make_account(client)
    return Caller(path_id=account.id, headers=account.headers)


@pytest.fixture(params=["local", "provider"])
def caller(request: pytest.FixtureRequest, cclient: TestClient, provider: JwksServer) -> Caller:
    if request.param == "local":
        return local_caller(cclient)
    return provider_caller(provider)


def create(client: TestClient, caller: Caller, **fields: object) -> dict[str, object]:
    response = client.post(caller.url(), json={"title": "A task", **fields}, headers=caller.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_crud_round_trip(cclient: TestClient, caller: Caller) -> None:
    response = cclient.post(
        caller.url(), json={"title": "Buy milk", "description": "2 l"}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert response.headers["location"] == caller.url(f"/{task['id']}")
    assert cclient.get(response.headers["location"], headers=caller.headers).json() == task

    listed = cclient.get(caller.url(), headers=caller.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [task["id"]]

    updated = cclient.put(
        caller.url(f"/{task['id']}"), json={"title": "Buy oat milk"}, headers=caller.headers
    )
    assert updated.status_code == 200
    assert updated.json()["title"] == "Buy oat milk"
    assert updated.json()["description"] == "2 l"  # fields not sent stay

    deleted = cclient.delete(caller.url(f"/{task['id']}"), headers=caller.headers)
    assert deleted.status_code == 204
    assert_problem(cclient.get(caller.url(f"/{task['id']}"), headers=caller.headers), 404)


def test_same_data_as_v1(cclient: TestClient, caller: Caller) -> None:
    task = create(cclient, caller, title="shared")
    v1 = cclient.get(f"/api/v1/tasks/{task['id']}", headers=caller.headers).json()
    # /api/v1 adds the list (the Inbox); the Hackathon II shape stays as it was.
    inbox = cclient.get("/api/v1/lists", headers=caller.headers).json()[0]
    assert v1.pop("list_id") == inbox["id"]
    assert (v1.pop("parent_id"), v1.pop("subtask_count"), v1.pop("open_subtask_count")) == (
        None,
        0,
        0,
    )
    assert isinstance(v1.pop("position"), str)  # the manual order: a /api/v1 addition too
    assert v1 == task


def test_complete_toggles_with_an_empty_body(cclient: TestClient, caller: Caller) -> None:
    task = create(cclient, caller)
    url = caller.url(f"/{task['id']}/complete")
    first = cclient.patch(url, headers=caller.headers)
    assert first.status_code == 200, first.text
    assert first.json()["completed"] is True
    assert first.json()["completed_at"] is not None
    second = cclient.patch(url, headers=caller.headers)
    assert second.json()["completed"] is False
    assert second.json()["completed_at"] is None


@pytest.mark.parametrize("state", [True, False])
def test_complete_with_a_body_sets_the_state_and_is_safe_to_retry(
    cclient: TestClient, caller: Caller, state: bool
) -> None:
    task = create(cclient, caller, completed=not state)
    url = caller.url(f"/{task['id']}/complete")
    results = [
        cclient.patch(url, json={"completed": state}, headers=caller.headers).json()
        for _ in range(3)
    ]
    assert [result["completed"] for result in results] == [state] * 3
    assert results[1] == results[2]  # a retry changes nothing, not even updated_at


def test_complete_body_is_validated(cclient: TestClient, caller: Caller) -> None:
    task = create(cclient, caller)
    url = caller.url(f"/{task['id']}/complete")
    assert_problem(cclient.patch(url, json={"completed": "maybe"}, headers=caller.headers), 422)
    assert_problem(cclient.patch(url, json={"done": True}, headers=caller.headers), 422)
    assert_problem(
        cclient.patch(
            url, content=b"completed=1", headers={**caller.headers, "Content-Type": "text/plain"}
        ),
        415,
    )


def test_status_filter_and_sort(cclient: TestClient, caller: Caller) -> None:
    open_task = create(cclient, caller, title="open")
    done_task = create(cclient, caller, title="done", completed=True)

    def ids(**params: str) -> list[object]:
        response = cclient.get(caller.url(), params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()]

    assert ids() == [done_task["id"], open_task["id"]]
    assert ids(status="all", sort="created") == [done_task["id"], open_task["id"]]
    assert ids(status="pending") == [open_task["id"]]
    assert ids(status="completed") == [done_task["id"]]
    for bad in ({"status": "done"}, {"sort": "colour"}, {"sort": "-title"}):
        body = assert_problem(cclient.get(caller.url(), params=bad, headers=caller.headers), 422)
        assert next(iter(bad)) in body["detail"]


def test_sort_by_title_and_due_date(cclient: TestClient, caller: Caller) -> None:
    later = create(cclient, caller, title="banana", due="2026-12-24")
    undated = create(cclient, caller, title="Apple")
    sooner = create(cclient, caller, title="cherry", due="2026-12-01T09:00:00+01:00")

    def ids(**params: str) -> list[object]:
        response = cclient.get(caller.url(), params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()]

    assert ids(sort="title") == [undated["id"], later["id"], sooner["id"]]
    assert ids(sort="due_date") == [sooner["id"], later["id"], undated["id"]]
    assert ids(sort="created") == [sooner["id"], undated["id"], later["id"]]
    # Pages keep the order: the cursor carries the sort keys.
    pages: list[object] = []
    url: str | None = caller.url() + "?sort=due_date&limit=1"
    while url is not None:
        response = cclient.get(url, headers=caller.headers)
        pages += [item["id"] for item in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert pages == [sooner["id"], later["id"], undated["id"]]


def test_list_pages_with_a_link_header(cclient: TestClient, caller: Caller) -> None:
    made = [create(cclient, caller, title=f"t{n}")["id"] for n in range(5)]
    seen: list[object] = []
    url: str | None = caller.url() + "?limit=2"
    while url is not None:
        response = cclient.get(url, headers=caller.headers)
        seen += [item["id"] for item in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == list(reversed(made))


@pytest.mark.parametrize("mismatch_status", [403, 404])
def test_path_user_must_be_the_token_user(
    make_client: ClientFactory, provider: JwksServer, mismatch_status: int
) -> None:
    client = make_client(
        auth_jwks_url=provider.url,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        compat_mismatch_status=mismatch_status,
    )
    alice = provider_caller(provider)
    bob = local_caller(client)
    task = create(client, alice)
    answers = set()
    for victim in (alice.path_id, "no-such-user", str(uuid.uuid4())):
        for method, suffix in (
            ("GET", ""),
            ("POST", ""),
            ("GET", f"/{task['id']}"),
            ("PUT", f"/{task['id']}"),
            ("DELETE", f"/{task['id']}"),
            ("PATCH", f"/{task['id']}/complete"),
        ):
            response = client.request(
                method, f"/api/{victim}/tasks{suffix}", json={"title": "x"}, headers=bob.headers
            )
            body = assert_problem(response, mismatch_status)
            answers.add((body["type"], body["title"], body["detail"]))
    # The same answer whether the other user and their task exist or not.
    assert len(answers) == 1
    # A local id is compared as a UUID, so its spelling does not matter to its owner.
    assert client.get(f"/api/{bob.path_id.upper()}/tasks", headers=bob.headers).status_code == 200
    # Alice's task is untouched.
    assert client.get(alice.url(f"/{task['id']}"), headers=alice.headers).json() == task


def test_other_users_task_is_404_through_own_path(
    cclient: TestClient, provider: JwksServer
) -> None:
    alice = provider_caller(provider)
    bob = local_caller(cclient)
    task = create(cclient, alice)
    for method in ("GET", "PUT", "DELETE"):
        response = cclient.request(
            method, bob.url(f"/{task['id']}"), json={"title": "mine now"}, headers=bob.headers
        )
        assert_problem(response, 404)
    assert_problem(cclient.patch(bob.url(f"/{task['id']}/complete"), headers=bob.headers), 404)
    # A missing or malformed id is the same 404 (update and delete are single statements).
    for task_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "DELETE"):
            response = cclient.request(
                method, bob.url(f"/{task_id}"), json={"title": "x"}, headers=bob.headers
            )
            assert_problem(response, 404)
    assert cclient.get(alice.url(f"/{task['id']}"), headers=alice.headers).json() == task


def test_anonymous_is_401(cclient: TestClient) -> None:
    some = str(uuid.uuid4())
    for method, suffix in (
        ("GET", ""),
        ("POST", ""),
        ("GET", f"/{some}"),
        ("PATCH", f"/{some}/complete"),
    ):
        assert_problem(cclient.request(method, f"/api/{some}/tasks{suffix}"), 401)


def test_v1_paths_are_not_taken_for_a_user_called_v1(cclient: TestClient, caller: Caller) -> None:
    listed = cclient.get("/api/v1/tasks", headers=caller.headers)
    assert listed.status_code == 200
    assert "items" in listed.json()


def test_compat_routes_can_be_turned_off(make_client: ClientFactory, client: TestClient) -> None:
    account = make_account(client)
    off = make_client(compat_routes_enabled=False)
    assert_problem(off.get(f"/api/{account.id}/tasks", headers=account.headers), 404)
    spec = off.get("/openapi.json").json()
    assert not [path for path in spec["paths"] if "{user_id}" in path]


def test_openapi_documents_the_compat_surface(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    compat_ops = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/{user_id}")
    ]
    assert {(path, method) for path, method, _ in compat_ops} == {
        ("/api/{user_id}/tasks", "get"),
        ("/api/{user_id}/tasks", "post"),
        ("/api/{user_id}/tasks/{task_id}", "get"),
        ("/api/{user_id}/tasks/{task_id}", "put"),
        ("/api/{user_id}/tasks/{task_id}", "delete"),
        ("/api/{user_id}/tasks/{task_id}/complete", "patch"),
    }
    assert all(op["tags"] == ["hackathon-compat"] for _, _, op in compat_ops)
    tag = next(tag for tag in spec["tags"] if tag["name"] == "hackathon-compat")
    assert "compatibility" in tag["description"].lower()

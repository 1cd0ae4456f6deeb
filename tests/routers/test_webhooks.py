"""The webhooks API: management, the URL rules, and the outbox rows task writes leave.

Nothing here sends a delivery (no worker runs under these clients; tests/jobs does that):
host names resolve through a resolver the test controls, so a refused address is refused
before any connection could exist, and no name is looked up by the system.
"""

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.factories import Account, assert_problem, make_account, make_task

PUBLIC_URL = "https://hooks.example.com/tasks"
ADDRESSES = {
    "hooks.example.com": ["93.184.216.34"],
    "metadata.example.com": ["169.254.169.254"],
    "intranet.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
}
ALL_EVENTS = ["task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"]


class FakeResolver:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in ADDRESSES:
            raise OSError("no such host")
        return ADDRESSES[host]


def _install(client: TestClient) -> FakeResolver:
    resolver = FakeResolver()
    client.app.state.webhook_resolver = resolver  # type: ignore[attr-defined]
    return resolver


@pytest.fixture
def resolver(client: TestClient) -> FakeResolver:
    return _install(client)


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def create_webhook(
    client: TestClient, account: Account, *, url: str = PUBLIC_URL, **fields: Any
) -> dict[str, Any]:
    body = {"url": url, "events": ALL_EVENTS, **fields}
    response = client.post("/api/v1/webhooks", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(client: TestClient, account: Account, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=account.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_create_returns_the_secret_once(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    created = create_webhook(client, owner, description="dashboard")
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["events"] == ALL_EVENTS
    assert resolver.asked == ["hooks.example.com"]
    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=owner.headers).json()
    assert "secret" not in shown
    assert shown["description"] == "dashboard"
    listed = client.get("/api/v1/webhooks", headers=owner.headers).json()
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert all("secret" not in hook for hook in listed)


def test_duplicate_events_are_kept_once(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    created = create_webhook(client, owner, events=["task.created", "task.created"])
    assert created["events"] == ["task.created"]


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL, "events": ["task.exploded"]},
        {"url": PUBLIC_URL},
        {"url": PUBLIC_URL, "events": ["task.created"], "secret": "whsec_mine"},
    ],
)
def test_create_refuses_invalid_bodies(
    client: TestClient, owner: Account, resolver: FakeResolver, body: dict[str, Any]
) -> None:
    response = client.post("/api/v1/webhooks", json=body, headers=owner.headers)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest", "cloud metadata"),
        ("https://metadata.example.com/hook", "cloud metadata"),
        ("https://intranet.example.com/hook", "private"),
        ("https://mixed.example.com/hook", "loopback"),
        ("https://mapped.example.com/hook", "cloud metadata"),
        ("https://unknown.example.com/hook", "could not resolve"),
        ("ftp://hooks.example.com/hook", "must start with"),
        ("https://user:pw@hooks.example.com/hook", "user name or password"),
        ("https://2130706433/hook", "unusual form"),
    ],
)
def test_create_refuses_unsafe_urls_without_connecting(
    client: TestClient, owner: Account, resolver: FakeResolver, url: str, why: str
) -> None:
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ALL_EVENTS}, headers=owner.headers
    )
    problem = assert_problem(response, 422)
    assert problem["type"] == "/problems/unsafe-webhook-url"
    assert why in problem["detail"]


def test_private_addresses_allowed_with_the_setting(make_client: ClientFactory) -> None:
    client = make_client(webhook_allow_private=True)
    owner = make_account(client)
    created = create_webhook(client, owner, url="http://127.0.0.1:9/hook")
    assert created["url"] == "http://127.0.0.1:9/hook"


def test_production_refuses_plain_http(make_client: ClientFactory) -> None:
    client = make_client(
        environment="production", secret_key="a-real-production-key-7f3c9e1b5d2a8046e1f9c3b7"
    )
    _install(client)
    owner = make_account(client)
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "http://hooks.example.com/hook", "events": ALL_EVENTS},
        headers=owner.headers,
    )
    assert "https://" in assert_problem(response, 422)["detail"]
    assert create_webhook(client, owner)["url"] == PUBLIC_URL


def test_update_checks_the_new_url_and_enables_again(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    path = f"/api/v1/webhooks/{hook['id']}"
    refused = client.patch(path, json={"url": "http://10.0.0.1/"}, headers=owner.headers)
    assert_problem(refused, 422)
    paused = client.patch(path, json={"enabled": False}, headers=owner.headers).json()
    assert paused["enabled"] is False
    assert paused["disabled_reason"] == "disabled by its owner"
    changed = client.patch(
        path, json={"enabled": True, "events": ["task.deleted"]}, headers=owner.headers
    ).json()
    assert changed["enabled"] is True
    assert changed["disabled_reason"] is None
    assert changed["events"] == ["task.deleted"]
    assert changed["url"] == PUBLIC_URL


def test_rotate_secret_keeps_the_old_one_for_a_day(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    response = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=owner.headers)
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers).json()
    assert shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]


def test_delete_removes_the_webhook(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    path = f"/api/v1/webhooks/{hook['id']}"
    assert client.delete(path, headers=owner.headers).status_code == 204
    assert_problem(client.get(path, headers=owner.headers), 404)
    assert_problem(client.delete(path, headers=owner.headers), 404)


def test_anonymous_is_401_and_another_users_webhook_is_404(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    stranger = make_account(client)
    base = f"/api/v1/webhooks/{hook['id']}"
    assert_problem(client.get("/api/v1/webhooks"), 401)
    assert_problem(client.get(base), 401)
    for method, path in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("POST", f"{base}/test"),
        ("GET", f"{base}/deliveries"),
        ("GET", "/api/v1/webhooks/not-a-uuid"),
    ]:
        body = {"description": "mine now"} if method == "PATCH" else None
        response = client.request(method, path, json=body, headers=stranger.headers)
        assert_problem(response, 404)
    assert client.get("/api/v1/webhooks", headers=stranger.headers).json() == []


def test_task_writes_queue_one_event_each(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    task = make_task(client, owner, title="Write the report", tags=["work"])
    path = f"/api/v1/tasks/{task['id']}"
    updated = client.patch(path, json={"title": "Write it"}, headers=owner.headers).json()
    completed = client.post(f"{path}/complete", headers=owner.headers).json()
    client.post(f"{path}/complete", headers=owner.headers)  # already completed: no event
    reopened = client.patch(path, json={"completed": False}, headers=owner.headers).json()
    assert client.delete(path, headers=owner.headers).status_code == 204
    queued = list(reversed(deliveries(client, owner, hook["id"])))
    assert [d["event_type"] for d in queued] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]
    assert [d["payload"]["data"] for d in queued] == [task, updated, completed, reopened, reopened]
    assert all(d["payload"]["type"] == d["event_type"] for d in queued)
    assert all(d["status"] == "pending" and d["attempts"] == [] for d in queued)
    assert len({d["id"] for d in queued}) == 5


def test_only_subscribed_events_of_enabled_webhooks_are_queued(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    deletes = create_webhook(client, owner, events=["task.deleted"])
    paused = create_webhook(client, owner)
    client.patch(f"/api/v1/webhooks/{paused['id']}", json={"enabled": False}, headers=owner.headers)
    task = make_task(client, owner)
    client.delete(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    assert [d["event_type"] for d in deliveries(client, owner, deletes["id"])] == ["task.deleted"]
    assert deliveries(client, owner, paused["id"]) == []


def test_another_users_writes_queue_nothing(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    make_task(client, make_account(client))
    assert deliveries(client, owner, hook["id"]) == []


def test_a_failed_write_queues_nothing(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    missing = "/api/v1/tasks/7b7f3c1e-0000-4000-8000-000000000000"
    assert_problem(client.patch(missing, json={"title": "x"}, headers=owner.headers), 404)
    assert_problem(client.delete(missing, headers=owner.headers), 404)
    assert deliveries(client, owner, hook["id"]) == []


def test_compat_routes_queue_events_too(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner)
    response = client.post(
        f"/api/{owner.id}/tasks", json={"title": "Old client"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    assert [d["event_type"] for d in deliveries(client, owner, hook["id"])] == ["task.created"]


def test_test_event_and_resend(client: TestClient, owner: Account, resolver: FakeResolver) -> None:
    hook = create_webhook(client, owner, events=["task.deleted"])
    response = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=owner.headers)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["event_type"] == "webhook.test"
    assert queued["payload"]["data"]["webhook_id"] == hook["id"]
    resend = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{queued['id']}/resend", headers=owner.headers
    )
    assert resend.status_code == 202, resend.text
    assert resend.json()["id"] == queued["id"]
    stranger = make_account(client)
    assert_problem(
        client.post(
            f"/api/v1/webhooks/{hook['id']}/deliveries/{queued['id']}/resend",
            headers=stranger.headers,
        ),
        404,
    )


def test_list_events_are_announced(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    """list.created, list.updated and list.deleted carry the list as GET /lists shows it; a
    refused change (a taken name, another user's list) announces nothing."""
    hook = create_webhook(client, owner, events=["list.created", "list.updated", "list.deleted"])
    created = client.post("/api/v1/lists", json={"name": "Work"}, headers=owner.headers).json()
    taken = client.post("/api/v1/lists", json={"name": "work"}, headers=owner.headers)
    assert_problem(taken, 409)
    path = f"/api/v1/lists/{created['id']}"
    updated = client.patch(path, json={"color": "#1E88E5"}, headers=owner.headers).json()
    other = make_account(client)
    assert_problem(client.delete(path, headers=other.headers), 404)
    assert client.delete(path, headers=owner.headers).status_code == 204
    queued = list(reversed(deliveries(client, owner, hook["id"])))
    assert [(d["event_type"], d["payload"]["data"]) for d in queued] == [
        ("list.created", created),
        ("list.updated", updated),
        ("list.deleted", updated),
    ]


def test_a_new_tag_is_announced_once(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner, events=["tag.created"])
    make_task(client, owner, tags=["work", "home"])
    make_task(client, owner, tags=["Work"])  # the same tag, another spelling: nothing new
    tags = {tag["name"]: tag for tag in client.get("/api/v1/tags", headers=owner.headers).json()}
    queued = list(reversed(deliveries(client, owner, hook["id"])))
    assert sorted((d["event_type"], d["payload"]["data"]["id"]) for d in queued) == sorted(
        ("tag.created", tags[name]["id"]) for name in ("work", "home")
    )
    assert {d["payload"]["data"]["total_tasks"] for d in queued} == {0}


def test_tag_renames_and_deletes_are_announced(
    client: TestClient, owner: Account, resolver: FakeResolver
) -> None:
    hook = create_webhook(client, owner, events=["tag.updated", "tag.deleted"])
    make_task(client, owner, tags=["work"])
    [tag] = client.get("/api/v1/tags", headers=owner.headers).json()
    path = f"/api/v1/tags/{tag['id']}"
    renamed = client.patch(path, json={"name": "Work"}, headers=owner.headers).json()
    other = make_account(client)
    make_task(client, other, tags=["home"])
    assert_problem(client.delete(path, headers=other.headers), 404)
    assert client.delete(path, headers=owner.headers).status_code == 204
    queued = list(reversed(deliveries(client, owner, hook["id"])))
    assert [(d["event_type"], d["payload"]["data"]) for d in queued] == [
        ("tag.updated", renamed),
        ("tag.deleted", renamed),
    ]

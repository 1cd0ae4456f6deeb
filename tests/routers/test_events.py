"""GET /api/v1/events on a real server, on SQLite and on PostgreSQL: changes arrive live,
a reconnect replays what it missed, tickets, limits, heartbeats and revocation."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app import migrate
from tests.conftest import BACKENDS, ThrowawayPostgres
from tests.live import LiveServer, start_server
from tests.sse_support import EventStream

EVENTS = "/api/v1/events"
ENV = {
    "RATE_LIMIT_ENABLED": "false",
    "EVENTS_HEARTBEAT_SECONDS": "0.3",
    "EVENTS_RECHECK_SECONDS": "0.5",
    "EVENTS_MAX_STREAMS_PER_USER": "2",
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"events-{request.param}")
    url = None
    if request.param == "postgresql":
        pg: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
        url = pg.create()
        migrate.upgrade(url)
    with start_server(tmp, database_url=url, env=ENV) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=10) as http:
        yield http


_count = 0


def sign_up(client: httpx2.Client) -> dict[str, str]:
    global _count
    _count += 1
    email = f"events-{time.monotonic_ns()}-{_count}@example.com"
    password = "correct horse battery"
    created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def open_stream(server: LiveServer, headers: dict[str, str], **params: str) -> EventStream:
    return EventStream(server.base_url, EVENTS, headers=headers, params=params)


def test_a_created_task_arrives_within_a_second(server: LiveServer, client: httpx2.Client) -> None:
    headers = sign_up(client)
    stream = open_stream(server, headers)
    try:
        assert stream.status == 200
        assert stream.content_type is not None
        assert stream.content_type.startswith("text/event-stream")
        started = time.monotonic()
        task = client.post("/api/v1/tasks", json={"title": "live"}, headers=headers).json()
        event = stream.next(timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert event.event == "task.created"
        entry = json.loads(event.data)
        assert (entry["kind"], entry["id"], entry["data"]["title"]) == ("task", task["id"], "live")
        client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "edited"}, headers=headers)
        assert stream.next(timeout=1.0).event == "task.updated"
        client.delete(f"/api/v1/tasks/{task['id']}", headers=headers)
        gone = stream.next(timeout=1.0)
        assert gone.event == "task.deleted"
        assert json.loads(gone.data)["type"] == "tombstone"
        made = client.post("/api/v1/lists", json={"name": "Live"}, headers=headers).json()
        listed = stream.next(timeout=1.0)
        assert (listed.event, json.loads(listed.data)["id"]) == ("list.created", made["id"])
    finally:
        stream.close()


def test_reconnect_with_last_event_id_replays_what_was_missed(
    server: LiveServer, client: httpx2.Client
) -> None:
    headers = sign_up(client)
    stream = open_stream(server, headers)
    try:
        client.post("/api/v1/tasks", json={"title": "seen"}, headers=headers)
        seen = stream.next(timeout=2)
    finally:
        stream.close()
    missed = [
        client.post("/api/v1/tasks", json={"title": f"missed {i}"}, headers=headers).json()["id"]
        for i in range(3)
    ]
    again = open_stream(server, {**headers, "Last-Event-ID": seen.id or ""})
    try:
        replayed = again.take(3, timeout=3)
        assert [json.loads(e.data)["id"] for e in replayed] == missed
        assert all(e.event == "task.created" for e in replayed)
        later = client.post("/api/v1/tasks", json={"title": "live again"}, headers=headers)
        assert json.loads(again.next(timeout=1).data)["id"] == later.json()["id"]
    finally:
        again.close()


def test_another_users_changes_never_arrive(server: LiveServer, client: httpx2.Client) -> None:
    mine, theirs = sign_up(client), sign_up(client)
    stream = open_stream(server, mine)
    try:
        client.post("/api/v1/tasks", json={"title": "theirs"}, headers=theirs)
        own = client.post("/api/v1/tasks", json={"title": "mine"}, headers=mine).json()
        event = stream.next(timeout=2)
        assert json.loads(event.data)["id"] == own["id"]
        assert stream.events.empty()
    finally:
        stream.close()


def test_a_ticket_works_once(server: LiveServer, client: httpx2.Client) -> None:
    headers = sign_up(client)
    issued = client.post(f"{EVENTS}/ticket", headers=headers)
    assert issued.status_code == 201, issued.text
    ticket = issued.json()["ticket"]
    assert issued.json()["expires_in"] == 60
    stream = open_stream(server, {}, ticket=ticket)
    try:
        assert stream.status == 200
        client.post("/api/v1/tasks", json={"title": "by ticket"}, headers=headers)
        assert stream.next(timeout=2).event == "task.created"
        reused = open_stream(server, {}, ticket=ticket)
        assert reused.status == 401
        assert json.loads(reused.body)["type"] == "/problems/invalid-token"
    finally:
        stream.close()
    for bad in ("not-a-ticket", "x" * 40):
        refused = client.get(EVENTS, params={"ticket": bad})
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"


def test_anonymous_is_401_and_a_bad_cursor_400(server: LiveServer, client: httpx2.Client) -> None:
    assert client.get(EVENTS).status_code == 401
    assert client.post(f"{EVENTS}/ticket").status_code == 401
    headers = sign_up(client)
    refused = client.get(EVENTS, headers={**headers, "Last-Event-ID": "bm90LWpzb24"})
    assert refused.status_code == 400
    assert refused.json()["type"] == "/problems/invalid-cursor"


def test_heartbeats_keep_an_idle_stream_open(server: LiveServer, client: httpx2.Client) -> None:
    stream = open_stream(server, sign_up(client))
    try:
        time.sleep(1.2)
        assert stream.comments >= 2
        assert not stream.closed.is_set()
    finally:
        stream.close()


def test_more_streams_than_allowed_is_429(server: LiveServer, client: httpx2.Client) -> None:
    headers = sign_up(client)
    first, second = open_stream(server, headers), open_stream(server, headers)
    try:
        third = open_stream(server, headers)
        assert third.status == 429
        assert json.loads(third.body)["type"] == "/problems/too-many-streams"
    finally:
        first.close()
    # A closed stream frees its place.
    deadline = time.monotonic() + 5
    while True:
        fourth = open_stream(server, headers)
        if fourth.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    try:
        assert fourth.status == 200
    finally:
        fourth.close()
        second.close()


def test_logout_everywhere_closes_open_streams(server: LiveServer, client: httpx2.Client) -> None:
    headers = sign_up(client)
    by_header = open_stream(server, headers)
    ticket = client.post(f"{EVENTS}/ticket", headers=headers).json()["ticket"]
    by_ticket = open_stream(server, {}, ticket=ticket)
    try:
        assert client.post("/api/v1/auth/logout-all", headers=headers).status_code == 204
        assert by_header.closed.wait(3)
        assert by_ticket.closed.wait(3)
    finally:
        by_header.close()
        by_ticket.close()

"""Webhook delivery end to end, on both databases: API writes, the outbox, the worker, and a
receiver on loopback that checks every signature with its own implementation.

Each test module gets a fresh, migrated database whose rows are really committed (the worker
runs its own transactions), and each test its own account. The in-process worker is driven
step by step (`drain`), with a clock the test moves forward instead of waiting for retries;
the crash and concurrency tests run `tasks-api worker` processes.
"""

import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app import migrate
from app.core.config import Settings
from app.database import create_db_engine, session_engines
from app.jobs.webhook_delivery import DeliveryWorker
from app.main import create_app
from app.models.base import utcnow
from app.schemas.task import TaskUpdate
from app.services import outbox
from app.services import tasks as task_service
from tests.conftest import ThrowawayPostgres, fresh_database_url, make_settings
from tests.core.webhook_servers import Received, Receiver, serving, signature_valid
from tests.factories import Account, make_account, make_task
from tests.live import TASKS_API, server_env

ALL_EVENTS = ["task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"]
DEADLINE_SECONDS = 30.0


@dataclass
class Stack:
    settings: Settings
    engine: Engine
    client: TestClient
    tmp: Path


@contextmanager
def _stack(url: str, tmp: Path) -> Iterator[Stack]:
    migrate.upgrade(url)
    settings = make_settings(
        url,
        tmp,
        webhook_allow_private=True,
        webhook_worker_enabled=False,
        webhook_poll_seconds=0.05,
    )
    engine = create_db_engine(settings)
    # No lifespan: no in-server worker; the tests run their own.
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
    yield Stack(settings, engine, client, tmp)
    engine.dispose()


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    pg = request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    url = fresh_database_url(backend, tmp_path_factory, pg)
    with _stack(url, tmp_path_factory.mktemp("hooks")) as made:
        yield made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as running:
        yield running


@pytest.fixture
def owner(stack: Stack) -> Account:
    return make_account(stack.client)


def create_webhook(stack: Stack, account: Account, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "events": ALL_EVENTS, **fields}
    response = stack.client.post("/api/v1/webhooks", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(stack: Stack, account: Account, webhook_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    response = stack.client.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries?limit=100", headers=account.headers
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()))


def msg_id(delivery: dict[str, Any]) -> str:
    return f"msg_{uuid.UUID(delivery['id']).hex}"


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def all_delivered(stack: Stack, account: Account, webhook_id: str) -> bool:
    return all(d["status"] == "delivered" for d in deliveries(stack, account, webhook_id))


def drain(worker: DeliveryWorker) -> int:
    """Run the worker until nothing is due; how many attempts it made."""
    made = 0
    while worker.run_once():
        made += 1
    return made


def verified(received: list[Received], secret: str) -> list[Received]:
    for hook in received:
        assert signature_valid(secret, hook.headers, hook.body), hook.headers
    return received


def title_of(received: Received) -> str:
    title: str = json.loads(received.body)["data"]["title"]
    return title


def test_every_committed_change_is_delivered(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/ok")
    client = stack.client
    task = make_task(client, owner, title="Plan the trip", tags=["travel"])
    path = f"/api/v1/tasks/{task['id']}"
    client.patch(path, json={"title": "Plan the whole trip"}, headers=owner.headers)
    client.post(f"{path}/complete", headers=owner.headers)
    client.patch(path, json={"completed": False}, headers=owner.headers)
    client.delete(path, headers=owner.headers)
    legacy = client.post(f"/api/{owner.id}/tasks", json={"title": "Old"}, headers=owner.headers)
    assert legacy.status_code == 201

    assert drain(DeliveryWorker(stack.engine, stack.settings)) == 6
    queued = deliveries(stack, owner, hook["id"])
    received = verified(receiver.received, hook["secret"])
    assert [r.headers["webhook-id"] for r in received] == [msg_id(d) for d in queued]
    assert [json.loads(r.body) for r in received] == [d["payload"] for d in queued]
    assert [d["event_type"] for d in queued] == [*ALL_EVENTS, "task.created"]
    assert all(d["status"] == "delivered" for d in queued)
    assert all([a["status_code"] for a in d["attempts"]] == [204] for d in queued)


def test_a_rolled_back_change_is_never_delivered(
    stack: Stack, owner: Account, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = create_webhook(
        stack, owner, f"http://127.0.0.1:{receiver.port}/ok", events=["task.updated"]
    )
    path = f"/api/v1/tasks/{make_task(stack.client, owner, title='Kept')['id']}"
    record_event = outbox.record_event

    def then_fail(**kwargs: Any) -> None:
        record_event(**kwargs)  # the outbox row is written in the change's transaction...
        raise RuntimeError("...and the change fails before it commits")

    monkeypatch.setattr(outbox, "record_event", then_fail)
    failed = stack.client.patch(path, json={"title": "Doomed"}, headers=owner.headers)
    assert failed.status_code == 500
    monkeypatch.undo()
    renamed = stack.client.patch(path, json={"title": "Renamed"}, headers=owner.headers)
    assert renamed.status_code == 200

    drain(DeliveryWorker(stack.engine, stack.settings))
    assert [title_of(r) for r in verified(receiver.received, hook["secret"])] == ["Renamed"]
    assert len(deliveries(stack, owner, hook["id"])) == 1
    assert stack.client.get(path, headers=owner.headers).json()["title"] == "Renamed"


class Clock:
    """The worker's now, moved forward by the test instead of waiting for backoffs."""

    def __init__(self) -> None:
        self.skew = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.skew


def test_a_receiver_down_for_a_while_then_up_gets_everything(stack: Stack, owner: Account) -> None:
    down = Receiver()
    port = down.port
    down.server_close()  # nothing listens there now: connection refused
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{port}/ok")
    titles = [f"while down {n}" for n in range(3)]
    for title in titles:
        make_task(stack.client, owner, title=title)
    worker = DeliveryWorker(stack.engine, stack.settings)
    worker.clock = clock = Clock()
    assert drain(worker) == 3
    clock.skew += timedelta(minutes=1)
    assert drain(worker) == 3  # every first retry is due within BASE_DELAY (10 s)
    failing = deliveries(stack, owner, hook["id"])
    assert all(d["status"] == "pending" and len(d["attempts"]) == 2 for d in failing)
    assert {a["failure"] for d in failing for a in d["attempts"]} == {"connection_refused"}
    shown = stack.client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers).json()
    assert shown["consecutive_failures"] == 6

    with serving(Receiver(port=port)) as up:
        clock.skew += timedelta(hours=3)  # past the longest backoff (2 h)
        assert drain(worker) == 3
        received = verified(up.received, hook["secret"])
    done = deliveries(stack, owner, hook["id"])
    assert sorted(title_of(r) for r in received) == titles
    assert {r.headers["webhook-id"] for r in received} == {msg_id(d) for d in done}
    assert all(d["status"] == "delivered" and len(d["attempts"]) == 3 for d in done)
    shown = stack.client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers).json()
    assert shown["consecutive_failures"] == 0


def test_an_endpoint_failing_too_often_is_disabled_with_its_reason(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/status/500")
    make_task(stack.client, owner)
    make_task(stack.client, owner)
    settings = stack.settings.model_copy(update={"webhook_disable_after": 3})
    worker = DeliveryWorker(stack.engine, settings)
    worker.clock = clock = Clock()
    for _ in range(5):
        drain(worker)
        clock.skew += timedelta(hours=3)
    shown = stack.client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers).json()
    assert shown["enabled"] is False
    assert shown["consecutive_failures"] == 3
    assert "3 delivery attempts failed in a row" in shown["disabled_reason"]
    assert "HTTP 500" in shown["disabled_reason"]
    assert len(receiver.received) == 3
    # Disabled: new changes queue nothing, pending deliveries wait.
    make_task(stack.client, owner)
    assert len(deliveries(stack, owner, hook["id"])) == 2
    assert all(d["status"] == "pending" for d in deliveries(stack, owner, hook["id"]))


def test_each_attempt_checks_the_address_again(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/ok")
    make_task(stack.client, owner)
    strict = stack.settings.model_copy(update={"webhook_allow_private": False})
    assert drain(DeliveryWorker(stack.engine, strict)) == 1
    [delivery] = deliveries(stack, owner, hook["id"])
    [attempt] = delivery["attempts"]
    assert attempt["failure"] == "refused_address"
    assert "loopback" in attempt["detail"]
    assert receiver.received == []


def test_during_a_rotation_both_secrets_sign(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/ok")
    rotated = stack.client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=owner.headers
    ).json()
    test = stack.client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=owner.headers)
    assert test.status_code == 202
    assert drain(DeliveryWorker(stack.engine, stack.settings)) == 1
    [received] = receiver.received
    assert json.loads(received.body)["type"] == "webhook.test"
    assert signature_valid(rotated["secret"], received.headers, received.body)
    assert signature_valid(hook["secret"], received.headers, received.body)
    assert not signature_valid("whsec_" + "A" * 44, received.headers, received.body)


def test_a_failed_delivery_can_be_resent_with_the_same_id(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/status/500")
    make_task(stack.client, owner)
    worker = DeliveryWorker(stack.engine, stack.settings)
    drain(worker)
    [delivery] = deliveries(stack, owner, hook["id"])
    stack.client.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json={"url": f"http://127.0.0.1:{receiver.port}/ok"},
        headers=owner.headers,
    )
    resent = stack.client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend",
        headers=owner.headers,
    )
    assert resent.status_code == 202
    assert drain(worker) == 1
    first, second = verified(receiver.received, hook["secret"])
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == msg_id(delivery)
    [done] = deliveries(stack, owner, hook["id"])
    assert done["status"] == "delivered"
    assert [a["status_code"] for a in done["attempts"]] == [500, 204]


# -- separate worker processes --------------------------------------------------------------


def start_worker(stack: Stack, log: Path, **env: str) -> "subprocess.Popen[bytes]":
    extra = {
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_POLL_SECONDS": "0.05",
        "LOG_FORMAT": "text",
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(TASKS_API), "worker"],
            env=server_env(stack.tmp, stack.settings.database_url, extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def test_a_worker_killed_mid_delivery_leaves_the_rest_to_the_next(
    stack: Stack, owner: Account, receiver: Receiver, tmp_path: Path
) -> None:
    # /slow holds each request until `release` is set: the first attempt is in flight when
    # the worker is killed, and its answer never arrives.
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/slow")
    titles = [f"task {n}" for n in range(5)]
    for title in titles:
        make_task(stack.client, owner, title=title)
    log = tmp_path / "worker.log"
    lease = {"WEBHOOK_LEASE_SECONDS": "2", "WEBHOOK_WORKER_THREADS": "1"}
    first = start_worker(stack, log, **lease)
    try:
        wait_for(lambda: len(receiver.received) >= 1, "the first attempt")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first)
    receiver.release.set()
    second = start_worker(stack, log, **lease)
    try:
        wait_for(lambda: all_delivered(stack, owner, hook["id"]), "every delivery")
    finally:
        stop(second)
    queued = deliveries(stack, owner, hook["id"])
    received = verified(receiver.received, hook["secret"])
    by_id: dict[str, set[bytes]] = {}
    for r in received:
        by_id.setdefault(r.headers["webhook-id"], set()).add(r.body)
    assert set(by_id) == {msg_id(d) for d in queued}, log.read_text()
    # A duplicate is the same event again: the same id and the same body.
    assert all(len(bodies) == 1 for bodies in by_id.values())
    # The attempt in flight at the kill was sent again once its lease ran out; the killed
    # worker recorded nothing for it.
    killed = received[0].headers["webhook-id"]
    assert [r.headers["webhook-id"] for r in received].count(killed) >= 2
    [again] = [d for d in queued if msg_id(d) == killed]
    assert [a["status_code"] for a in again["attempts"]] == [204]
    assert sorted({title_of(r) for r in received}) == titles


def test_two_workers_on_postgresql_never_send_one_attempt_twice(
    throwaway_postgres: ThrowawayPostgres,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    url = throwaway_postgres.create()
    with _stack(url, tmp_path_factory.mktemp("two-workers")) as pg_stack:
        owner = make_account(pg_stack.client)
        hook = create_webhook(pg_stack, owner, f"http://127.0.0.1:{receiver.port}/ok")
        for n in range(40):
            make_task(pg_stack.client, owner, title=f"task {n}")
        log = tmp_path / "workers.log"
        workers = [start_worker(pg_stack, log, WEBHOOK_WORKER_THREADS="3") for _ in range(2)]
        try:
            wait_for(lambda: all_delivered(pg_stack, owner, hook["id"]), "every delivery")
        finally:
            for process in workers:
                stop(process)
        queued = deliveries(pg_stack, owner, hook["id"])
        received = verified(receiver.received, hook["secret"])
        ids = [r.headers["webhook-id"] for r in received]
        assert len(ids) == len(set(ids)) == 40, log.read_text()
        assert set(ids) == {msg_id(d) for d in queued}
        assert all(len(d["attempts"]) == 1 for d in queued)


def _at_once(stack: Stack, calls: list[Callable[[Session], Any]]) -> None:
    """Run each call in its own thread and request-like session, released together."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []
    engine = session_engines(stack.engine).write  # BEGIN IMMEDIATE on SQLite, as requests

    def run(call: Callable[[Session], Any]) -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                barrier.wait(timeout=10)
                call(session)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


def test_concurrent_completions_announce_one_completion(
    stack: Stack, owner: Account, receiver: Receiver
) -> None:
    hook = create_webhook(stack, owner, f"http://127.0.0.1:{receiver.port}/ok")
    user_id = uuid.UUID(owner.id)
    first = uuid.UUID(make_task(stack.client, owner, title="by /complete")["id"])
    second = uuid.UUID(make_task(stack.client, owner, title="by PATCH")["id"])
    _at_once(
        stack,
        [
            lambda session: task_service.set_completed(
                session=session, user_id=user_id, task_id=first, completed=True
            )
            for _ in range(3)
        ],
    )
    _at_once(
        stack,
        [
            lambda session: task_service.update_task(
                session=session,
                user_id=user_id,
                task_id=second,
                task_in=TaskUpdate.model_validate({"completed": True}),
            )
            for _ in range(3)
        ],
    )
    queued = deliveries(stack, owner, hook["id"])
    events = [(d["event_type"], d["payload"]["data"]["title"]) for d in queued]
    # Idempotent completes change the task once; PATCHes each change it (updated_at), but
    # only the first finds it open: each later one reads the state the previous one left.
    assert sorted(events[2:]) == [
        ("task.completed", "by /complete"),
        ("task.completed", "by PATCH"),
        ("task.updated", "by PATCH"),
        ("task.updated", "by PATCH"),
    ]

"""The outbox's per-process answer to "does this user have webhooks?" (outbox.SUBSCRIBERS)."""

import queue
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app import migrate
from app.database import normalize_database_url
from app.main import create_app
from app.notifications import Listener, listen_dsn
from app.services.outbox import SUBSCRIBERS, WEBHOOKS_CHANNEL, SubscriberCache
from tests.conftest import ThrowawayPostgres, make_settings
from tests.factories import make_account


def test_a_forget_during_a_query_keeps_its_stale_answer_out() -> None:
    cache = SubscriberCache()
    user = uuid.uuid4()
    generation = cache.generation  # taken before the query...
    cache.forget(user)  # ...a webhook is created meanwhile...
    cache.put(user, False, generation=generation)  # ...so the answer read is not kept
    assert cache.get(user) is None
    cache.put(user, True, generation=cache.generation)
    assert cache.get(user) is True


def test_webhook_changes_are_announced_to_every_process(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change commits a NOTIFY with the user id; a server's listener (another process's,
    here a NOTIFY sent by hand) makes it forget that user's answer. The answer's 1 s lifetime
    is stretched, so only the notification can end it."""
    monkeypatch.setattr(SUBSCRIBERS, "ttl_seconds", 3600.0)
    url = throwaway_postgres.create()
    migrate.upgrade(url)
    heard: queue.Queue[str] = queue.Queue()
    listener = Listener(listen_dsn(url), {WEBHOOKS_CHANNEL: heard.put}, on_connected=lambda _: None)
    listener.start()
    settings = make_settings(
        url, tmp_path, webhook_allow_private=True, webhook_worker_enabled=False
    )
    try:
        assert listener.connected.wait(10)
        with TestClient(create_app(settings)) as client:  # its lifespan listens too
            owner = make_account(client)
            created = client.post(
                "/api/v1/webhooks",
                json={"url": "http://127.0.0.1:9/hook", "events": ["task.created"]},
                headers=owner.headers,
            )
            assert created.status_code == 201, created.text
            assert heard.get(timeout=10) == owner.id

            # What another process's change does to this one: its answer goes.
            user = uuid.UUID(owner.id)
            SUBSCRIBERS.put(user, False, generation=SUBSCRIBERS.generation)
            engine = create_engine(normalize_database_url(url))
            with engine.begin() as connection:
                connection.execute(
                    text("SELECT pg_notify(:channel, :user)"),
                    {"channel": WEBHOOKS_CHANNEL, "user": owner.id},
                )
            engine.dispose()
            deadline = time.monotonic() + 10
            while SUBSCRIBERS.get(user) is not None:
                assert time.monotonic() < deadline, "the server did not forget"
                time.sleep(0.01)
    finally:
        listener.stop()

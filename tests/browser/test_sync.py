"""Two pages of one single-page app in headless Chromium, signed in as one user: a task
created in one appears in the other within a second, without a reload (issue 18).

Each page syncs as docs/guides/sync.md says: a snapshot from GET /api/v1/changes, then an
EventSource on GET /api/v1/events with a ticket, from the snapshot's cursor. The pages are
served from 127.0.0.2 and the API from 127.0.0.1, so CORS applies as for a deployed frontend.
"""

import functools
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser

from tests.browser.test_spa import PAGE_DIR, SPA_HOST, _QuietHandler
from tests.live import LiveServer, start_server


@pytest.fixture(scope="module")
def spa_origin() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(PAGE_DIR))
    server = ThreadingHTTPServer((SPA_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{SPA_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, spa_origin: str) -> Iterator[LiveServer]:
    env = {"CORS_ORIGINS": spa_origin, "RATE_LIMIT_ENABLED": "false"}
    with start_server(tmp_path_factory.mktemp("sync-api"), env=env) as server:
        yield server


def _token(api: LiveServer) -> str:
    email = f"sync-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery"
    with httpx2.Client(base_url=api.base_url) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert created.status_code == 201
        login = client.post("/api/v1/auth/token", data={"username": email, "password": password})
        token: str = login.json()["access_token"]
        client.post(
            "/api/v1/tasks",
            json={"title": "Already there"},
            headers={"Authorization": f"Bearer {token}"},
        )
    return token


def test_a_task_created_in_one_page_appears_in_the_other(
    browser: Browser, spa_origin: str, api: LiveServer, tmp_path: Path
) -> None:
    token = _token(api)
    context = browser.new_context()
    try:
        first, second = context.new_page(), context.new_page()
        for page in (first, second):
            page.goto(f"{spa_origin}/sync.html")
            count = page.evaluate("([api, token]) => startSync(api, token)", [api.base_url, token])
            assert count == 1
            assert page.locator("#tasks li").all_inner_texts() == ["Already there"]
        started = time.monotonic()
        assert first.evaluate("() => createTask('Made in the first tab')") == 201
        second.locator("#tasks li", has_text="Made in the first tab").wait_for(timeout=1000)
        assert time.monotonic() - started < 1.0
        assert second.locator("#tasks li").all_inner_texts() == [
            "Already there",
            "Made in the first tab",
        ]
        # And the other way round; the page that wrote hears of its own change too.
        started = time.monotonic()
        assert second.evaluate("() => createTask('Back from the second')") == 201
        first.locator("#tasks li", has_text="Back from the second").wait_for(timeout=1000)
        assert time.monotonic() - started < 1.0
    finally:
        context.close()

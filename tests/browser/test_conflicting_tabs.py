"""Two tabs of a single-page app edit one task, in headless Chromium, against `tasks-api
serve` on another origin: the second save gets 412, the page reloads the task, and the user
saves again (issue 17). CORS must let the page send If-Match and read ETag."""

import functools
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page

from tests.live import LiveServer, start_server

PAGE_DIR = Path(__file__).parent
PAGE_HOST = "127.0.0.2"
PASSWORD = "correct horse battery"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(PAGE_DIR))
    server = ThreadingHTTPServer((PAGE_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{PAGE_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, page_origin: str) -> Iterator[LiveServer]:
    env = {"CORS_ORIGINS": page_origin}
    with start_server(tmp_path_factory.mktemp("tabs-api"), env=env) as server:
        yield server


def _task_for_new_account(api: LiveServer) -> tuple[str, str]:
    email = f"tabs-{uuid.uuid4().hex[:8]}@example.com"
    with httpx2.Client(base_url=api.base_url) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        access = token.json()["access_token"]
        task = client.post(
            "/api/v1/tasks",
            json={"title": "Book the venue"},
            headers={"Authorization": f"Bearer {access}"},
        )
        return access, task.json()["id"]


def _open_editor(browser: Browser, origin: str, api: LiveServer, token: str, task_id: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{origin}/editor.html")
    page.evaluate("([api, token, id]) => openTask(api, token, id)", [api.base_url, token, task_id])
    assert page.locator("#status").inner_text() == 'loaded "1"'
    return page


def _save(page: Page, title: str, expected_status: str) -> None:
    page.fill("#title", title)
    page.click("#save")
    page.wait_for_function(
        "expected => document.getElementById('status').textContent.startsWith(expected)",
        arg=expected_status,
    )


def test_the_second_tab_gets_412_reloads_and_saves(
    browser: Browser, page_origin: str, api: LiveServer
) -> None:
    token, task_id = _task_for_new_account(api)
    first = _open_editor(browser, page_origin, api, token, task_id)
    second = _open_editor(browser, page_origin, api, token, task_id)

    _save(first, "Book the venue for Friday", "saved")
    assert first.locator("#status").inner_text() == 'saved "2"'

    # The second tab still shows version 1: its save is refused, and it reloads.
    _save(second, "Book the hall", "conflict")
    assert second.locator("#status").inner_text() == 'conflict: reloaded "2"'
    assert second.input_value("#title") == "Book the venue for Friday"
    refused = second.evaluate("saves[0]")
    assert refused["status"] == 412
    assert refused["body"]["version"] == 2
    assert refused["etag"] == '"2"'  # exposed to the page by CORS

    # Now based on version 2, the user's change goes through.
    _save(second, "Book the hall for Friday", "saved")
    assert second.locator("#status").inner_text() == 'saved "3"'

    with httpx2.Client(base_url=api.base_url) as client:
        final = client.get(
            f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert (final["title"], final["version"]) == ("Book the hall for Friday", 3)
    for page in (first, second):
        page.context.close()

"""A single-page app on another origin, in real headless Chromium, against `tasks-api serve`.

The page (spa.html) is served from 127.0.0.2, the API from 127.0.0.1: two origins, so every
call goes through the browser's CORS checks exactly as it would for a deployed frontend.
A third origin (127.0.0.3), not in CORS_ORIGINS, must be refused by the browser.
"""

import functools
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.live import LiveServer, start_server
from tests.provider import AUDIENCE, ISSUER, JwksServer, claims, sign

PAGE_DIR = Path(__file__).parent
SPA_HOST = "127.0.0.2"
OTHER_HOST = "127.0.0.3"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_origins() -> Iterator[dict[str, str]]:
    """spa.html on two loopback origins: the configured SPA and a stranger."""
    handler = functools.partial(_QuietHandler, directory=str(PAGE_DIR))
    servers = [ThreadingHTTPServer((host, 0), handler) for host in (SPA_HOST, OTHER_HOST)]
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield {
            name: f"http://{server.server_address[0]}:{server.server_address[1]}"
            for name, server in zip(("spa", "other"), servers, strict=True)
        }
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        server.add_key("EdDSA")
        yield server


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, page_origins: dict[str, str], provider: JwksServer
) -> Iterator[LiveServer]:
    env = {
        "CORS_ORIGINS": page_origins["spa"],
        "AUTH_JWKS_URL": provider.url,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
    }
    with start_server(tmp_path_factory.mktemp("spa-api"), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    # The shared Chromium from tests/browser/conftest.py: one Playwright per session.
    context = browser.new_context()
    try:
        yield context
    finally:
        context.close()


def open_page(context: Any, origin: str) -> Any:
    page = context.new_page()
    page.goto(f"{origin}/spa.html")
    return page


def test_local_account_in_the_browser(
    browser_context: Any, page_origins: dict[str, str], api: LiveServer
) -> None:
    page = open_page(browser_context, page_origins["spa"])
    email = f"spa-{uuid.uuid4().hex[:8]}@example.com"
    log = page.evaluate(
        "([api, email]) => localFlow(api, email, 'correct horse battery')", [api.base_url, email]
    )
    assert log["register"]["status"] == 201, log
    assert log["login"] == 200
    assert log["me"]["body"]["email"] == email
    create = log["create"]
    assert create["status"] == 201
    # Exposed by CORS: the page can read Location, X-Request-ID and the rate-limit headers.
    assert create["location"] == f"/api/v1/tasks/{create['body']['id']}"
    assert create["requestId"]
    assert create["rateLimit"]
    assert create["rateLimitPolicy"]
    assert [task["title"] for task in log["list"]["body"]["items"]] == ["Write the report"]
    assert page.locator("#tasks li").all_inner_texts() == ["[ ] Write the report"]
    assert log["complete"]["status"] == 200
    assert log["complete"]["body"]["completed"] is True
    assert log["delete"]["status"] == 204
    assert log["after"]["body"]["items"] == []
    page.close()


def test_provider_token_on_the_hackathon_routes(
    browser_context: Any, page_origins: dict[str, str], api: LiveServer, provider: JwksServer
) -> None:
    page = open_page(browser_context, page_origins["spa"])
    sub = f"ba-{uuid.uuid4().hex[:12]}"
    token = sign(provider.keys[0], claims(sub=sub, name="Spa User"))
    log = page.evaluate(
        "([api, token, sub]) => providerFlow(api, token, sub)", [api.base_url, token, sub]
    )
    create = log["create"]
    assert create["status"] == 201, log
    task_id = create["body"]["id"]
    assert create["location"] == f"/api/{sub}/tasks/{task_id}"
    assert [task["id"] for task in log["list"]["body"]] == [task_id]
    assert page.locator("#tasks li").all_inner_texts() == ["[ ] Ship it"]
    assert log["toggle"]["body"]["completed"] is True
    assert log["set"]["body"]["completed"] is True  # setting, not toggling: still done
    assert log["update"]["body"]["title"] == "Shipped"
    assert [task["id"] for task in log["completed"]["body"]] == [task_id]
    assert log["delete"]["status"] == 204
    assert log["after"]["body"] == []
    assert log["otherUser"]["status"] == 403
    assert log["expired"]["status"] == 401
    page.close()


def test_an_origin_not_in_cors_origins_is_refused(
    browser_context: Any, page_origins: dict[str, str], api: LiveServer, provider: JwksServer
) -> None:
    token = sign(provider.keys[0], claims())
    allowed = open_page(browser_context, page_origins["spa"])
    assert allowed.evaluate("([api, t]) => tryFetch(api, t)", [api.base_url, token]) == {
        "status": 200
    }
    stranger = open_page(browser_context, page_origins["other"])
    result = stranger.evaluate("([api, t]) => tryFetch(api, t)", [api.base_url, token])
    # The browser blocks the response: the page learns nothing, not even the status.
    assert "error" in result
    assert "Failed to fetch" in result["error"]
    allowed.close()
    stranger.close()

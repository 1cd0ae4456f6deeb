"""Headless Chromium (Debian's package) driven by Playwright, cut off from everything but
127.0.0.1.

    def test_something(offline_page: OfflinePage, live_server: LiveServer) -> None:
        offline_page.page.goto(live_server.url("/docs"))
        ...
        offline_page.assert_no_outside_requests()

Nothing is downloaded: Playwright's own browser builds are never installed; we launch
/usr/bin/chromium (or $CHROMIUM). Without it the tests skip, except under REQUIRE_POSTGRES=1
(CI), where they fail.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, sync_playwright

from tests.conftest import postgres_required

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces with the request interception below: no name resolves but loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.*",
]


def chromium_path() -> str:
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(candidate).is_file():
        reason = "Chromium is not installed (apt-get install chromium)"
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 requires the browser tests: {reason}")
        pytest.skip(reason)
    return candidate


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        # launch() gives Chromium a fresh temporary profile of its own.
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class OfflinePage:
    page: Page
    blocked: list[str] = field(default_factory=list)

    def assert_no_outside_requests(self) -> None:
        assert self.blocked == [], f"the page tried to reach the internet: {self.blocked}"

    def screenshot(self, name: str, element: Locator | None = None) -> Path:
        """Save a PNG of the viewport (or of one element) under test-artifacts/ (git-ignored)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if element is None:
            self.page.screenshot(path=str(path))
        else:
            element.screenshot(path=str(path))
        return path


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[OfflinePage]:
    """A fresh browser context whose requests to anything but 127.0.0.1 are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    offline = OfflinePage(page=context.new_page())

    def guard(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOCAL_HOSTS:
            offline.blocked.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/*", guard)
    yield offline
    context.close()
    offline.assert_no_outside_requests()

"""The built documentation site in headless Chromium, offline: its pages and the API reference
rendered by the vendored ReDoc load nothing but the site itself. And the screenshot script
runs: the images in docs/images come from it."""

import functools
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OfflinePage, chromium_path
from tests.live import PROJECT_ROOT

TIMEOUT_MS = 20_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(docs_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(docs_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_site_pages_render_offline(offline_page: OfflinePage, site_url: str) -> None:
    page = offline_page.page
    page.goto(f"{site_url}/getting-started/")
    expect(page.locator("h1")).to_contain_text("Getting started", timeout=TIMEOUT_MS)
    # The navigation: a tab, then the page.
    page.get_by_role("link", name="Guides", exact=True).first.click()
    page.get_by_role("link", name="Finding tasks").first.click()
    expect(page.locator("h1")).to_contain_text("Finding tasks", timeout=TIMEOUT_MS)
    offline_page.assert_no_outside_requests()


def test_api_reference_renders_with_the_vendored_redoc(
    offline_page: OfflinePage, site_url: str
) -> None:
    page = offline_page.page
    page.goto(f"{site_url}/reference/redoc.html")
    create = page.locator("[id='tag/tasks/operation/createTask']")
    expect(create).to_contain_text("Create a task", timeout=TIMEOUT_MS)
    expect(create).to_contain_text("Request Body schema: application/json")
    offline_page.assert_no_outside_requests()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_screenshot_script_makes_the_docs_images(tmp_path: Path) -> None:
    chromium_path()  # skips (or fails under REQUIRE_POSTGRES=1) without Chromium
    script = PROJECT_ROOT / "scripts" / "docs_screenshots.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    committed = sorted(path.name for path in (PROJECT_ROOT / "docs" / "images").glob("*.png"))
    made = sorted(path.name for path in tmp_path.glob("*.png"))
    assert made == committed
    for name in made:
        width, height = png_size(tmp_path / name)
        assert width >= 800, name
        assert height >= 600, name

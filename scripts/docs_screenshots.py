"""Screenshots for the docs site, taken from a running server, never by hand.

    .venv/bin/python scripts/docs_screenshots.py [--out docs/images]

Starts `tasks-api serve` on a free port with a throwaway SQLite database, signs up a user,
and drives Debian's Chromium (through Playwright; no browser is downloaded, and every request
to anything but 127.0.0.1 is refused) through Swagger UI and ReDoc:

- swagger-ui-create-task.png: a task created with "Try it out" (201), request and answer;
- redoc-create-task.png: the create-task operation and its request schema.

The benchmark chart on the performance page is drawn by the benchmark itself
(benchmarks/report.py) and taken from benchmarks/results/ when the site is built.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from playwright.sync_api import Page, Route, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer, start_server  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway account on a throwaway database
TIMEOUT_MS = 20_000
VIEWPORT = {"width": 1280, "height": 900}


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    return path


def offline(route: Route) -> None:
    if urlsplit(route.request.url).hostname not in {"127.0.0.1", None}:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def sign_up(server: LiveServer) -> str:
    email = f"screenshots-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx2.post(
        server.url("/api/v1/auth/register"),
        json={"email": email, "password": PASSWORD, "name": "Ada"},
    )
    response.raise_for_status()
    return email


def swagger_create_task(page: Page, server: LiveServer, email: str, out: Path) -> Path:
    page.goto(server.url("/docs"))
    expect(page.locator(".information-container .title")).to_contain_text(
        "Tasks API", timeout=TIMEOUT_MS
    )
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    oauth2 = dialog.locator(".auth-container", has_text="OAuth2PasswordBearer")
    oauth2.locator("#oauth_username").fill(email)
    oauth2.locator("#oauth_password").fill(PASSWORD)
    oauth2.get_by_role("button", name="Apply given OAuth2 credentials").click()
    expect(oauth2.locator("button", has_text="Logout")).to_be_visible(timeout=TIMEOUT_MS)
    dialog.locator("button.btn-done").first.click()

    block = page.locator("#operations-tasks-createTask")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    body = {"title": "Send the invoice", "priority": "high", "due": "2026-12-01", "tags": ["work"]}
    block.locator("textarea.body-param__text").fill(json.dumps(body))
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    expect(status).to_have_text("201", timeout=TIMEOUT_MS)
    # From the operation's title down to the server's answer; the declared responses below
    # are in the ReDoc shot. Boxes are relative to the viewport: measure from the page's top.
    page.evaluate("window.scrollTo(0, 0)")
    top = block.bounding_box()
    bottom = block.locator(".live-responses-table").first.bounding_box()
    if top is None or bottom is None:
        raise RuntimeError("Swagger UI did not lay out the create-task operation")
    path = out / "swagger-ui-create-task.png"
    page.screenshot(
        path=str(path),
        full_page=True,
        clip={
            "x": top["x"],
            "y": top["y"],
            "width": top["width"],
            "height": bottom["y"] + bottom["height"] - top["y"],
        },
    )
    return path


def redoc_create_task(page: Page, server: LiveServer, out: Path) -> Path:
    page.goto(server.url("/redoc"))
    create = page.locator("[id='tag/tasks/operation/createTask']")
    expect(create).to_contain_text("Request Body schema: application/json", timeout=TIMEOUT_MS)
    create.locator("h2").first.scroll_into_view_if_needed()
    path = out / "redoc-create-task.png"
    page.screenshot(path=str(path))
    return path


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="docs-screenshots-") as tmp,
        start_server(Path(tmp)) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=chromium(), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
            context.route("**/*", offline)
            page = context.new_page()
            email = sign_up(server)
            return [
                swagger_create_task(page, server, email, out),
                redoc_create_task(page, server, out),
            ]
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

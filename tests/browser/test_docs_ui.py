"""Swagger UI and ReDoc in a real headless Chromium, with no network beyond the app."""

import json
import re
import uuid

import httpx2
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OfflinePage
from tests.live import LiveServer

PASSWORD = "correct horse battery"
TIMEOUT_MS = 20_000


def register(server: LiveServer) -> str:
    email = f"docs-{uuid.uuid4().hex[:10]}@example.com"
    response = httpx2.post(
        server.url("/api/v1/auth/register"), json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return email


def operation(page: Page, operation_id: str) -> Locator:
    block = page.locator(f"#operations-tasks-{operation_id}")
    expect(block).to_be_visible(timeout=TIMEOUT_MS)
    return block


def open_try_it_out(page: Page, operation_id: str) -> Locator:
    block = operation(page, operation_id)
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    return block


def execute(block: Locator) -> tuple[int, str]:
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    expect(status).to_have_text(re.compile(r"^\s*\d{3}"), timeout=TIMEOUT_MS)
    body = block.locator(".live-responses-table tr.response .response-col_description pre").first
    return int(status.inner_text().strip()[:3]), body.inner_text()


def authorize(page: Page, email: str) -> None:
    """Log in through the OAuth2 password flow form in the Authorize dialog."""
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_be_visible()
    oauth2 = dialog.locator(".auth-container", has_text="OAuth2PasswordBearer")
    oauth2.locator("#oauth_username").fill(email)
    oauth2.locator("#oauth_password").fill(PASSWORD)
    oauth2.get_by_role("button", name="Apply given OAuth2 credentials").click()
    expect(oauth2.locator("button", has_text="Logout")).to_be_visible(timeout=TIMEOUT_MS)
    dialog.locator("button.btn-done").first.click()
    expect(dialog).to_be_hidden()


def test_swagger_ui_authorizes_and_runs_every_task_route(
    offline_page: OfflinePage, live_server: LiveServer
) -> None:
    page = offline_page.page
    email = register(live_server)
    page.goto(live_server.url("/docs"))
    expect(page.locator(".information-container .title")).to_contain_text(
        "Tasks API", timeout=TIMEOUT_MS
    )
    offline_page.screenshot("swagger-ui-loaded")

    authorize(page, email)

    create = open_try_it_out(page, "createTask")
    create.locator("textarea.body-param__text").fill(
        json.dumps({"title": "Made in Swagger UI", "description": "through Try it out"})
    )
    status, body = execute(create)
    assert status == 201, body
    task = json.loads(body)
    assert task["title"] == "Made in Swagger UI"
    offline_page.screenshot("swagger-ui-create-task-201", create)

    listing = open_try_it_out(page, "listTasks")
    status, body = execute(listing)
    assert status == 200, body
    assert [item["id"] for item in json.loads(body)["items"]] == [task["id"]]

    for operation_id, expected in [
        ("getTask", 200),
        ("updateTask", 200),
        ("replaceTask", 200),
        ("completeTask", 200),
        ("reopenTask", 200),
        ("deleteTask", 204),
    ]:
        block = open_try_it_out(page, operation_id)
        block.locator("tr[data-param-name='task_id'] input").fill(task["id"])
        body_field = block.locator("textarea.body-param__text")
        if body_field.count():
            body_field.fill(json.dumps({"title": f"Changed by {operation_id}"}))
        status, body = execute(block)
        assert status == expected, f"{operation_id}: {status} {body}"

    # The API agrees: the task went through every step and is gone.
    token = httpx2.post(
        live_server.url("/api/v1/auth/token"), data={"username": email, "password": PASSWORD}
    ).json()["access_token"]
    gone = httpx2.get(
        live_server.url(f"/api/v1/tasks/{task['id']}"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert gone.status_code == 404
    offline_page.assert_no_outside_requests()


def test_redoc_renders_the_task_schema(offline_page: OfflinePage, live_server: LiveServer) -> None:
    page = offline_page.page
    page.goto(live_server.url("/redoc"))
    create = page.locator("[id='tag/tasks/operation/createTask']")
    expect(create).to_be_visible(timeout=TIMEOUT_MS)
    create.scroll_into_view_if_needed()
    expect(create).to_contain_text("Create a task")
    expect(create).to_contain_text("Request Body schema: application/json")
    for field in ("title", "description", "completed"):
        expect(create.locator("td[kind='field']", has_text=field).first).to_be_visible()
    create.locator("h2").first.scroll_into_view_if_needed()
    offline_page.screenshot("redoc-create-task")
    offline_page.assert_no_outside_requests()

"""Structured logs and Prometheus metrics, checked on real `tasks-api serve` processes."""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.core.logging import (
    JsonFormatter,
    RequestContext,
    RequestContextFilter,
    TextFormatter,
    current_request,
)
from app.observability import record_rate_limited
from tests.live import METRICS_TOKEN, LiveServer, start_server

PASSWORD = "correct horse battery"


def register_and_login(server: LiveServer) -> tuple[str, str]:
    email = f"obs-{uuid.uuid4().hex[:10]}@example.com"
    created = httpx2.post(
        server.url("/api/v1/auth/register"), json={"email": email, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    tokens = httpx2.post(
        server.url("/api/v1/auth/token"), data={"username": email, "password": PASSWORD}
    )
    assert tokens.status_code == 200, tokens.text
    return email, tokens.json()["access_token"]


def json_lines(server: LiveServer) -> list[dict[str, Any]]:
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    # Every line the server wrote is one JSON object: nothing unstructured slips through.
    return [json.loads(line) for line in lines]


def lines_for(server: LiveServer, request_id: str) -> list[dict[str, Any]]:
    """The request's lines, once its closing access line is written (just after the response
    reaches the client, so it may lag a moment behind)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in json_lines(server) if line.get("request_id") == request_id]
        if any(line["logger"] == "app.access" for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


# Logs -----------------------------------------------------------------------------------


def test_json_access_line_carries_request_fields(live_server: LiveServer) -> None:
    _, token = register_and_login(live_server)
    request_id = f"test-{uuid.uuid4().hex}"
    missing = uuid.uuid4()
    response = httpx2.get(
        live_server.url(f"/api/v1/tasks/{missing}?limit=1"),
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
    )
    assert response.status_code == 404
    (access,) = [
        line for line in lines_for(live_server, request_id) if line["logger"] == "app.access"
    ]
    assert access["level"] == "INFO"
    assert access["method"] == "GET"
    assert access["route"] == "/api/v1/tasks/{task_id}"
    assert access["path"] == f"/api/v1/tasks/{missing}"  # no query string
    assert access["status"] == 404
    assert access["duration_ms"] > 0
    assert access["ts"].endswith("+00:00")


def test_lines_logged_during_a_request_carry_its_context(live_server: LiveServer) -> None:
    _, token = register_and_login(live_server)
    request_id = f"test-{uuid.uuid4().hex}"
    response = httpx2.post(
        live_server.url("/api/v1/auth/logout-all"),
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
    )
    assert response.status_code == 204
    lines = lines_for(live_server, request_id)
    security = [line for line in lines if line["logger"] == "app.security"]
    assert security, lines
    for line in lines:
        assert line["method"] == "POST"
        assert line["route"] == "/api/v1/auth/logout-all"
        assert line["duration_ms"] >= 0
    # The closing access line has the final status; lines before the response have none yet.
    assert lines[-1]["logger"] == "app.access"
    assert lines[-1]["status"] == 204


def test_logs_hold_no_secrets(live_server: LiveServer) -> None:
    _, token = register_and_login(live_server)
    httpx2.get(live_server.url("/api/v1/users/me"), headers={"Authorization": f"Bearer {token}"})
    httpx2.get(live_server.url("/metrics"), headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = live_server.log_text()
    for secret in (token, PASSWORD, METRICS_TOKEN, live_server.env["SECRET_KEY"]):
        assert secret not in text
    assert "authorization" not in text.lower()


def test_text_format_is_readable_and_carries_the_same_fields() -> None:
    scope: dict[str, Any] = {"state": {"request_id": "abc123"}, "route": None}
    context = RequestContext(scope=scope, method="PATCH")
    context.status = 200
    token = current_request.set(context)
    try:
        record = logging.makeLogRecord({"name": "app.tasks", "levelname": "INFO", "msg": "saved"})
        assert RequestContextFilter().filter(record)
    finally:
        current_request.reset(token)
    text = TextFormatter().format(record)
    assert "INFO    app.tasks      saved  [request_id=abc123 method=PATCH status=200" in text
    body = json.loads(JsonFormatter().format(record))
    assert body["request_id"] == "abc123"
    assert body["method"] == "PATCH"
    assert body["route"] is None
    assert body["status"] == 200


def test_lines_outside_a_request_have_empty_request_fields() -> None:
    record = logging.makeLogRecord({"name": "app.main", "levelname": "WARNING", "msg": "hi"})
    RequestContextFilter().filter(record)
    body = json.loads(JsonFormatter().format(record))
    assert body["request_id"] is None
    assert body["message"] == "hi"
    assert TextFormatter().format(record).endswith("app.main       hi")


def test_text_logs_in_development(tmp_path: Path) -> None:
    with start_server(tmp_path, env={"LOG_FORMAT": ""}) as server:
        httpx2.get(server.url("/healthz"), headers={"X-Request-ID": "dev-request-1"})
    text = server.log_text()  # read after the server stopped: every line is written
    line = next(line for line in text.splitlines() if "dev-request-1" in line)
    assert "app.access" in line
    assert "GET /healthz 200" in line
    assert "route=/healthz" in line
    assert "status=200" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


# Metrics --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own, so the counts below are exact; tight login limit per account."""
    with start_server(
        tmp_path_factory.mktemp("metered"),
        env={
            "METRICS_TOKEN": METRICS_TOKEN,
            "RATE_LIMIT_LOGIN_PER_ACCOUNT": "2/minute",
            "LOG_FORMAT": "json",
        },
    ) as server:
        yield server


def scrape(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx2.get(
        server.url("/metrics"), headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_the_token_when_one_is_set(metered: LiveServer) -> None:
    anonymous = httpx2.get(metered.url("/metrics"))
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    wrong = httpx2.get(metered.url("/metrics"), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "tasks_api" not in wrong.text


def test_metrics_are_open_without_a_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "tasks_api_http_requests_total" in response.text


def test_metrics_count_real_traffic_by_route_template(metered: LiveServer) -> None:
    _, token = register_and_login(metered)
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx2.post(metered.url("/api/v1/tasks"), json={"title": "metered"}, headers=auth)
    assert created.status_code == 201
    task_id = created.json()["id"]
    for _ in range(3):
        assert httpx2.get(metered.url(f"/api/v1/tasks/{task_id}"), headers=auth).status_code == 200
    assert httpx2.get(metered.url(f"/api/v1/tasks/{uuid.uuid4()}"), headers=auth).status_code == 404
    assert httpx2.get(metered.url("/api/v1/tasks")).status_code == 401
    assert httpx2.get(metered.url("/no/such/path")).status_code == 404

    requests = "tasks_api_http_requests_total"
    # A request is counted just after its response is sent; wait for the last one.
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(metered)
        last = value(samples, requests, method="GET", route="unmatched", status="404")
        if last or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    one = "/api/v1/tasks/{task_id}"
    assert value(samples, requests, method="GET", route=one, status="200") == 3
    assert value(samples, requests, method="GET", route=one, status="404") == 1
    assert value(samples, requests, method="POST", route="/api/v1/tasks", status="201") == 1
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    histogram = "tasks_api_http_request_duration_seconds"
    assert value(samples, f"{histogram}_count", method="GET", route=one, status="200") == 3
    assert (
        value(samples, f"{histogram}_bucket", method="GET", route=one, status="200", le="+Inf") == 3
    )
    assert value(samples, f"{histogram}_sum", method="GET", route=one, status="200") > 0
    # Route templates only: no id and no unknown path becomes a label.
    labels = {dict(key[1]).get("route", "") for key in samples}
    assert not any(task_id in label or "/no/such" in label for label in labels)
    # Every 401 counts as an auth failure, by route (the token tests' 401s are on /metrics).
    assert value(samples, "tasks_api_auth_failures_total", route="/api/v1/tasks") == 1
    assert ("tasks_api_db_pool_connections_in_use", frozenset()) in samples
    assert value(samples, "tasks_api_db_pool_connections_in_use") >= 0
    assert ("process_resident_memory_bytes", frozenset()) in samples


def test_metrics_count_rate_limit_rejections(metered: LiveServer) -> None:
    email, _ = register_and_login(metered)  # one login of the two allowed per minute
    before = scrape(metered)
    statuses = [
        httpx2.post(
            metered.url("/api/v1/auth/token"), data={"username": email, "password": "wrong one"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 429, 429]
    limited = "tasks_api_rate_limited_total"
    # Counted when the limiter refuses, before the 429 is sent: no wait needed.
    after = scrape(metered)
    increase = sum(after[key] - before.get(key, 0.0) for key in after if key[0] == limited)
    assert increase == 2


def test_record_rate_limited_is_callable_from_anywhere(client: TestClient) -> None:
    def count() -> float:
        for family in text_string_to_metric_families(client.get("/metrics").text):
            for sample in family.samples:
                if sample.name == "tasks_api_rate_limited_total" and sample.labels == {
                    "policy": "test-policy"
                }:
                    return sample.value
        return 0.0

    before = count()
    record_rate_limited("test-policy")
    assert count() == before + 1

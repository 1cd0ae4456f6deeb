"""Security headers, the docs pages' CSP, and CORS."""

import base64
import hashlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.factories import assert_problem, make_account

ORIGIN = "https://app.example.com"


def _csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/api/v1/users/me"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/api/v1/nope"),
        ("GET", "/openapi.json"),
    ],
)
def test_every_response_has_the_basic_headers(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


def test_auth_and_user_data_are_not_stored(client: TestClient) -> None:
    account = make_account(client)
    responses = [
        client.post(
            "/api/v1/auth/token", data={"username": account.email, "password": account.password}
        ),
        client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}),
        client.get("/api/v1/users/me", headers=account.headers),
        client.get("/api/v1/tasks", headers=account.headers),
        client.get("/api/v1/tasks"),  # errors too
    ]
    for response in responses:
        assert response.headers["cache-control"] == "no-store", response.request.url


def test_body_limit_error_still_gets_headers(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/register",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413)
    assert response.headers["x-content-type-options"] == "nosniff"


def _inline_script_hashes(html: str) -> list[str]:
    bodies = re.findall(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", html, re.S | re.I)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in bodies
    ]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_pages_get_a_csp_that_allows_exactly_what_they_load(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    csp = _csp(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    script_src = csp["script-src"]
    # No blanket allowances for scripts: only 'self', exact hashes and exact origins.
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "*" not in script_src
    assert "https:" not in script_src
    hashes = _inline_script_hashes(html)
    if path != "/redoc":
        assert hashes, "Swagger UI pages start themselves with an inline script"
    for digest in hashes:
        assert digest in script_src
    for src in re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", html):
        parts = urlsplit(src)
        if parts.netloc:
            assert f"{parts.scheme}://{parts.netloc}" in script_src, src
    for href in re.findall(r"<link[^>]*\bhref=[\"']([^\"']+)", html):
        parts = urlsplit(href)
        if parts.netloc:
            assert f"{parts.scheme}://{parts.netloc}" in csp["style-src"], href
    assert "x-content-type-options" in response.headers


def test_docs_csp_rejects_a_script_the_page_did_not_ship() -> None:
    from app.middleware.security_headers import docs_csp

    page = b"<html><script>start()</script><script src='/static/app.js'></script></html>"
    csp = _csp(docs_csp(page).decode())
    digest = base64.b64encode(hashlib.sha256(b"start()").digest()).decode()
    assert csp["script-src"] == ["'self'", f"'sha256-{digest}'"]
    injected = base64.b64encode(hashlib.sha256(b"steal()").digest()).decode()
    assert f"'sha256-{injected}'" not in csp["script-src"]


def test_wildcard_cors_never_allows_credentials(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=["*"])
    response = client.options(
        "/api/v1/tasks",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers

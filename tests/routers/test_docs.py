"""/docs and /redoc: every asset the pages reference is served by the app itself."""

import re

import pytest
from fastapi.testclient import TestClient

from app.routers.docs import STATIC_DIR

ASSET_REFS = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def referenced_assets(html: str) -> list[str]:
    return ASSET_REFS.findall(html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = referenced_assets(html)
    assert assets, "the page references no assets"
    for url in assets:
        assert url.startswith("/static/docs/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    # No CDN, no web fonts, no online validator.
    assert "http://" not in html
    assert "https://" not in html


def test_swagger_ui_is_version_5(client: TestClient) -> None:
    versions = (STATIC_DIR / "docs" / "VERSIONS").read_text()
    assert re.search(r"^swagger-ui-dist 5\.\d+\.\d+$", versions, re.MULTILINE)
    assert re.search(r"^redoc 2\.\d+\.\d+$", versions, re.MULTILINE)
    bundle = client.get("/static/docs/swagger-ui/swagger-ui-bundle.js")
    assert bundle.headers["content-type"] in {
        "text/javascript; charset=utf-8",
        "application/javascript",
    }


def test_licences_are_shipped_with_the_assets() -> None:
    for path in ("swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"):
        assert (STATIC_DIR / "docs" / path).stat().st_size > 0, path


def test_swagger_ui_wires_oauth2_redirect(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "oauth2" in redirect.text


def test_docs_routes_stay_out_of_the_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & paths.keys()


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_pages_forbid_other_origins(client: TestClient, page: str) -> None:
    response = client.get(page)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert "http" not in response.headers["content-security-policy"]
    # Inline start-up scripts are allowed by hash only.
    assert "unsafe-inline" not in policy["script-src"]
    inline_scripts = response.text.count("<script>")
    assert policy["script-src"].count("'sha256-") == inline_scripts

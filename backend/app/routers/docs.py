"""Swagger UI at /docs and ReDoc at /redoc, served from files vendored into the app.

FastAPI's defaults load both from a CDN, which leaves a blank page offline or behind a strict
proxy; these routes use the same HTML with every asset coming from `/static/docs/`.
"""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
ASSETS = "/static/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# SecurityHeadersMiddleware gives these pages a CSP computed from their HTML: this origin
# only, inline scripts by hash (ReDoc's footer logo on a CDN is therefore never requested).
DOCS_PATHS = frozenset({"/docs", "/redoc", OAUTH2_REDIRECT_URL})

SWAGGER_UI_PARAMETERS = {
    # No badge that asks an online validator about our schema.
    "validatorUrl": None,
    "persistAuthorization": False,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
}

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )

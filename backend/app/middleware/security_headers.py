"""Security headers on every response, and a Content-Security-Policy made for each page.

API responses are data, never documents: they get a CSP that allows nothing, `nosniff`, no
referrer, and `Cache-Control: no-store` (tokens and personal data must not sit in shared or
browser caches). The interactive docs pages get a CSP computed from the page itself: the
SHA-256 of each inline script and the exact origins of the assets it links, nothing more, so
an injected script or a script from anywhere else does not run.
"""

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)
_SCRIPT_SRC = re.compile(rb"<script[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)
_LINK_HREF = re.compile(rb"<link[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"']", re.I)
# Google Fonts' stylesheet pulls the font files from a second origin.
_FONT_ORIGINS = {"https://fonts.googleapis.com": "https://fonts.gstatic.com"}


def _origins(urls: list[bytes]) -> list[str]:
    found: list[str] = []
    for raw in urls:
        parts = urlsplit(raw.decode("latin-1"))
        if parts.scheme == "https" and parts.netloc:
            origin = f"https://{parts.netloc}"
            if origin not in found:
                found.append(origin)
    return found


def docs_csp(html: bytes) -> bytes:
    """A CSP allowing exactly what this HTML page loads."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    script_origins = _origins(_SCRIPT_SRC.findall(html))
    style_origins = _origins(_LINK_HREF.findall(html))
    font_origins = [_FONT_ORIGINS[o] for o in style_origins if o in _FONT_ORIGINS]
    directives = [
        "default-src 'none'",
        " ".join(["script-src 'self'", *script_origins, *hashes]),
        # Swagger UI and ReDoc set inline styles from JavaScript; styles cannot run code.
        " ".join(["style-src 'self' 'unsafe-inline'", *style_origins]),
        " ".join(["img-src 'self' data:", *script_origins]),
        " ".join(["font-src 'self' data:", *font_origins]),
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives).encode()


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return
        no_store = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(_COMMON)
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP))
                if no_store and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Docs pages are small and sent in one piece; hold the start until the body is known.
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                headers = [
                    (k, v) for k, v in start.get("headers", []) if k != b"content-security-policy"
                ]
                headers.extend(_COMMON)
                headers.append((b"content-security-policy", docs_csp(body)))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, buffered_send)

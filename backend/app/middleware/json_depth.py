"""Refuse JSON bodies nested deeper than a limit, before any parser recurses into them.

Python's json parser recurses once per level: a 1 MiB body of `[` would exhaust the stack
(a RecursionError, a 500) and every level costs work. Our schemas never need more than a few
levels, so anything deeper is answered with a 400 problem without being parsed.
"""

import re
from itertools import accumulate

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import JsonTooDeep, problem_response

# A JSON string (with escapes); brackets inside strings are not structure.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    # Fast path: fewer opening brackets than the limit cannot nest deeper than it.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    structure = b"".join(_BRACKETS.findall(_STRING.sub(b"", body)))
    deepest: int = max(accumulate(map(_STEP.__getitem__, structure)), default=0)
    return deepest > limit


def _is_json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return False


class JsonDepthMiddleware:
    """`skip_paths`: routes that read their body as a file, with a depth check of their own
    that can say on which line the nesting goes too deep (the import)."""

    def __init__(
        self, app: ASGIApp, max_depth: int, skip_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_depth = max_depth
        self.skip_paths = skip_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope) or scope["path"] in self.skip_paths:
            await self.app(scope, receive, send)
            return
        # The body limit runs outside this middleware, so the buffer is bounded.
        chunks: list[bytes] = []
        other: Message | None = None  # e.g. a disconnect, handed on after the body
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    other = message
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except HTTPException as exc:  # the body limit's 413, raised from receive()
            await problem_response(exc.status_code, detail=exc.detail, instance=scope["path"])(
                scope, receive, send
            )
            return
        body = b"".join(chunks)
        if json_depth_exceeds(body, self.max_depth):
            error = JsonTooDeep(f"JSON bodies may nest at most {self.max_depth} levels deep.")
            response = problem_response(
                error.status,
                detail=error.detail,
                title=error.title,
                type_=error.type_,
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            nonlocal other
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            if other is not None:
                message, other = other, None
                return message
            return await receive()

        await self.app(scope, replay, send)

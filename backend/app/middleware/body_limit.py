"""Refuse request bodies over a size limit with a 413 problem, declared or streamed."""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response

DETAIL = "The request body is larger than {limit} bytes."


class BodyTooLarge(HTTPException):
    # An HTTPException, so FastAPI re-raises it from body parsing instead of turning it
    # into a generic 400, and the problem handler renders it.
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=DETAIL.format(limit=limit))


class BodyLimitMiddleware:
    """`path_limits`: paths with a limit of their own instead of `max_bytes` (file uploads)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            # Answer before reading a byte of it.
            response = problem_response(
                413, detail=DETAIL.format(limit=limit), instance=scope["path"]
            )
            await response(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

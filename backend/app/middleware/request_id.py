"""X-Request-ID on every response: a valid incoming id is echoed, otherwise one is made."""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
# Visible ASCII without separators: safe to echo into headers and logs.
_VALID = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for key, value in scope["headers"] if key == HEADER), None)
        if incoming is not None and _VALID.match(incoming):
            request_id = incoming.decode()
        else:
            request_id = uuid.uuid4().hex
        # Mutate the shared state dict so the outer error handler sees it too.
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER]
                headers.append((HEADER, encoded))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)

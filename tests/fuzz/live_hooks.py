"""Who calls in the schemathesis CLI run against a live server (`make fuzz-live`), loaded with
SCHEMATHESIS_HOOKS=tests.fuzz.live_hooks; FUZZ_URL is the server's base URL.

Every call is made as one account signed up for the run, except the calls of operations that end
the session (every token revoked, the password changed, the account deleted): each of those gets
an account of its own, so none revokes the token of the others. The pytest run does the same
itself (tests/fuzz/test_openapi_fuzz.py).
"""

import json
import os
import uuid
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import schemathesis

from tests.fuzz import hooks

SESSION_ENDING = frozenset({"logoutAll", "changePassword", "deleteMe"})
PASSWORD = "fuzz-password-1"  # of throwaway accounts on the server under test


def _post(url: str, data: bytes, content_type: str) -> Any:
    # FUZZ_URL, the server under test: an http(s) URL the developer gave.
    request = Request(url, data, {"Content-Type": content_type})  # noqa: S310
    with urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def sign_up() -> tuple[str, str]:
    """A fresh account on the server: its id and an access token."""
    base_url = os.environ["FUZZ_URL"].rstrip("/")
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    user = _post(
        f"{base_url}/api/v1/auth/register", json.dumps(credentials).encode(), "application/json"
    )
    form = urlencode({"username": email, "password": PASSWORD}).encode()
    tokens = _post(f"{base_url}/api/v1/auth/token", form, "application/x-www-form-urlencoded")
    return user["id"], tokens["access_token"]


@schemathesis.auth(refresh_interval=None)
class Accounts:
    def __init__(self) -> None:
        self.token: str | None = None

    def get(self, case: Any, context: Any) -> str:
        if case.operation.definition.raw.get("operationId") in SESSION_ENDING:
            return sign_up()[1]
        if self.token is None:
            hooks.caller_id, self.token = sign_up()
        return self.token

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

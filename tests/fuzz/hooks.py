"""The schemathesis hook of the fuzz runs, in pytest (tests/fuzz/test_openapi_fuzz.py) and in
the CLI run against a live server (tests/fuzz/live_hooks.py).

It only fills in who is calling; nothing filters or reshapes generated input.
"""

from typing import Any

import schemathesis

# The id of the account the calls are made as, set by whoever signs it up.
caller_id: str | None = None


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """The Hackathon II paths (`/api/{user_id}/tasks`) name the caller. Any other user is a 403
    before the request is read, so a generated id would keep every body from being checked."""
    if caller_id is not None and case.path_parameters and "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = caller_id

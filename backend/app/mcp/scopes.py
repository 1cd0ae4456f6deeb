"""What a token may do through MCP: each tool and resource names the scopes it needs, and
`require_scopes` is the one check, made before any of them runs.

Login access tokens and identity-provider tokens carry no scopes: they stand for the user,
who may do everything (the caller has no `scopes`, or `scopes is None`). A token limited to
some scopes (personal access tokens) has them as `caller.scopes`, a collection of names.
"""

from collections.abc import Collection

from app.core.callers import Caller
from app.core.errors import Forbidden

TASKS_READ = "tasks:read"
TASKS_WRITE = "tasks:write"
TAGS_READ = "tags:read"
LISTS_READ = "lists:read"
LISTS_WRITE = "lists:write"
SUPPORTED = (TASKS_READ, TASKS_WRITE, TAGS_READ, LISTS_READ, LISTS_WRITE)


class InsufficientScope(Forbidden):
    type_ = "/problems/insufficient-scope"
    title = "Insufficient scope"

    def __init__(self, missing: Collection[str]) -> None:
        self.missing = sorted(missing)
        super().__init__(
            "This token does not grant " + ", ".join(self.missing) + "; use a token that does."
        )


def granted_scopes(caller: Caller) -> frozenset[str] | None:
    """The scopes the caller's token is limited to; None for a token that is not limited."""
    return caller.scopes


def require_scopes(caller: Caller, needed: Collection[str]) -> None:
    """InsufficientScope (403) unless the caller's token grants every scope in `needed`."""
    granted = granted_scopes(caller)
    if granted is None:
        return
    missing = set(needed) - granted
    if missing:
        raise InsufficientScope(missing)

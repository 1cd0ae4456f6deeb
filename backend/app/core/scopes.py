"""What a personal access token may do: its scopes.

A route declares the one scope it needs (dependencies.require_scope); a personal token
carries the scopes its owner chose; a login access token or a provider token carries them
all. A scope names a resource and a level: `:write` does not imply `:read`, so a token that
should only add tasks can be made without the right to read them.
"""

from collections.abc import Iterable
from typing import Final

SCOPES: Final[dict[str, str]] = {
    "tasks:read": "Read your tasks and their statistics.",
    "tasks:write": "Create, change, complete and delete your tasks.",
    "lists:read": "Read your lists.",
    "lists:write": "Create, change and delete your lists.",
    "tags:read": "Read your tags.",
    "tags:write": "Rename and delete your tags.",
    "account:read": "Read your profile and your personal access tokens.",
    "webhooks:manage": "Create, change and delete your webhooks and see their deliveries.",
    "calendar:manage": "Create, list and revoke your calendar feed URLs.",
    "export:read": "Export your whole account: profile, lists, tags, tasks and reminders.",
    "import:write": "Import a file into your account: creates lists, tags and tasks.",
}
ALL_SCOPES: Final[frozenset[str]] = frozenset(SCOPES)


def parse_scopes(stored: str) -> frozenset[str]:
    """Scopes as stored: names separated by single spaces (OAuth 2.0's `scope` syntax)."""
    return frozenset(stored.split())


def format_scopes(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))

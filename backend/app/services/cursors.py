"""Opaque keyset cursors: the last row's sort values plus a fingerprint of the query."""

import base64
import binascii
import hashlib
import json
from typing import Any

from app.core.errors import InvalidCursor


def query_fingerprint(query: dict[str, Any]) -> str:
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(values: list[Any], fingerprint: str) -> str:
    # UTF-8, not \u escapes (12 characters for one emoji): the published maximum length of a
    # cursor counts on it.
    raw = json.dumps(
        {"k": values, "q": fingerprint}, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> list[Any]:
    """The sort values of a cursor made for this same query; InvalidCursor otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor from exc
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise InvalidCursor
    if data.get("q") != fingerprint:
        raise InvalidCursor(
            "The cursor was issued for a different filter or sort; start again without it."
        )
    values: list[Any] = data["k"]
    return values

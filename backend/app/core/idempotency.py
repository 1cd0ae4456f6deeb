"""The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header): its value,
and the fingerprint of the request it is sent with."""

import hashlib
import re
from typing import Any

import orjson

from app.core.errors import InvalidIdempotencyKey

MAX_KEY_LENGTH = 255
# 1 to 255 printable ASCII characters, the first and last not a space (HTTP trims those). The
# draft's quoted form (`"8e03978e-..."`) is one such value: the key is the field value as sent,
# so a client retries with exactly what it sent the first time.
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)


def parse_idempotency_key(value: str) -> str:
    """The key, or InvalidIdempotencyKey (400) for one that does not match KEY_PATTERN."""
    if not _KEY.fullmatch(value):
        raise InvalidIdempotencyKey
    return value


def request_fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 of the method, the path and the body as the server read it (parsed and
    validated, keys sorted): a retry that spells the same JSON differently is the same
    request; one that means something else is not."""
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()

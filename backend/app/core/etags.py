"""Entity tags and the conditional request headers that carry them (RFC 9110, section 8.8.3
and 13.1), as plain functions: no HTTP framework, no database.

A task's tag is strong and derived from its `version`: `"7"`. Listings and counts get a weak
tag, a digest of the response body, since equal bodies are all they promise.
"""

import hashlib
import re

# The most entity tags one If-Match may list (each distinct count is a statement shape).
MAX_IF_MATCH_TAGS = 16

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')

# Versions as If-Match states them: None is "no condition" (absent, or `*`); otherwise the
# versions any of which may be current, possibly none (a tag that can never match).
Expected = tuple[int, ...] | None


def strong_etag(version: int) -> str:
    return f'"{version}"'


def weak_etag(body: bytes) -> str:
    """A weak validator for a response body: equal bodies, equal tags."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def weak_etag_of_digest(hexdigest: str) -> str:
    """`weak_etag` of a body hashed as it was written (SHA-256, hex): a streamed body."""
    return f'W/"{hexdigest[:32]}"'


def _tags(value: str) -> list[tuple[bool, str]] | None:
    """The (weak, opaque-tag) pairs of a list of entity tags; None if it is not one."""
    tags: list[tuple[bool, str]] = []
    position = 0
    text = value.strip()
    while position < len(text):
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def parse_if_match(value: str | None) -> Expected:
    """The versions an If-Match header accepts.

    Strong comparison (RFC 9110, 13.1.1): a weak tag never matches, nor does anything that is
    not one of our tags; a header that is not a list of entity tags at all matches nothing
    (the write is refused with 412 rather than done unconditionally).
    """
    if value is None:
        return None
    if value.strip() == "*":
        return None
    tags = _tags(value)
    if tags is None:
        return ()
    versions = sorted({int(tag) for weak, tag in tags if not weak and _is_version(tag)})
    return tuple(versions[:MAX_IF_MATCH_TAGS]) if len(versions) <= MAX_IF_MATCH_TAGS else ()


# The column is a 32-bit integer: a larger number is no version of ours (and binding it
# would be a database error).
_MAX_VERSION = 2**31 - 1


def _is_version(tag: str) -> bool:
    return tag.isascii() and tag.isdigit() and len(tag) <= 10 and int(tag) <= _MAX_VERSION


def none_match(value: str | None, etag: str) -> bool:
    """Whether If-None-Match `value` matches `etag` (weak comparison, RFC 9110 13.1.2): then
    a GET is answered 304 Not Modified."""
    if value is None:
        return False
    if value.strip() == "*":
        return True
    tags = _tags(value)
    if not tags:
        return False
    current = etag.removeprefix("W/")
    return any(f'"{tag}"' == current for _weak, tag in tags)


def version_matches(version: int, expected: Expected) -> bool:
    return expected is None or version in expected

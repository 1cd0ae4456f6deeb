import hashlib

import pytest

from app.core.errors import InvalidIdempotencyKey
from app.core.etags import (
    none_match,
    parse_if_match,
    strong_etag,
    weak_etag,
    weak_etag_of_digest,
)
from app.core.idempotency import parse_idempotency_key, request_fingerprint


def test_strong_etag_is_the_quoted_version() -> None:
    assert strong_etag(7) == '"7"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("*", None),
        (' "3" ', (3,)),
        ('"3", "5"', (3, 5)),
        ('"5","3","5"', (3, 5)),
        # Strong comparison: a weak tag never matches, nor a tag that is no version of ours.
        ('W/"3"', ()),
        ('"abc"', ()),
        ('"99999999999"', ()),
        ('"2147483648"', ()),
        # Not a list of entity tags at all: matches nothing.
        ("3", ()),
        ('"3" junk', ()),
        ("", ()),
    ],
)
def test_parse_if_match(header: str | None, expected: tuple[int, ...] | None) -> None:
    assert parse_if_match(header) == expected


def test_parse_if_match_refuses_too_many_tags() -> None:
    header = ", ".join(f'"{n}"' for n in range(1, 18))
    assert parse_if_match(header) == ()
    assert parse_if_match(", ".join(f'"{n}"' for n in range(1, 17))) == tuple(range(1, 17))


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        (None, '"3"', False),
        ('"3"', '"3"', True),
        ('W/"3"', '"3"', True),  # weak comparison
        ('"2", "3"', '"3"', True),
        ('"4"', '"3"', False),
        ("*", '"3"', True),
        ('W/"abc"', 'W/"abc"', True),
        ('"abc"', 'W/"abc"', True),
        ("garbage", '"3"', False),
    ],
)
def test_none_match(header: str | None, etag: str, matches: bool) -> None:
    assert none_match(header, etag) is matches


def test_weak_etag_depends_on_the_body_only() -> None:
    assert weak_etag(b"[]") == weak_etag(b"[]")
    assert weak_etag(b"[]") != weak_etag(b"[1]")
    assert weak_etag(b"[]").startswith('W/"')


@pytest.mark.parametrize(
    "header",
    ["abc", '"8e03978e-40d5-43e8-bc93-6894a57f9324"', "a b", "k" * 255, "x"],
)
def test_idempotency_key_is_the_value_as_sent(header: str) -> None:
    assert parse_idempotency_key(header) == header


@pytest.mark.parametrize(
    "header", ["", "   ", " a", "a ", "k" * 256, "caf\xe9", "tab\there", "line\n"]
)
def test_idempotency_key_refused(header: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        parse_idempotency_key(header)


def test_fingerprint_ignores_key_order_not_values() -> None:
    one = request_fingerprint("POST", "/api/v1/tasks", {"a": 1, "b": 2})
    assert one == request_fingerprint("POST", "/api/v1/tasks", {"b": 2, "a": 1})
    assert one != request_fingerprint("POST", "/api/v1/tasks", {"a": 1, "b": 3})
    assert one != request_fingerprint("POST", "/api/v1/tasks/x", {"a": 1, "b": 2})


def test_a_streamed_bodys_tag_is_the_bodys_tag() -> None:
    body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    digest = hashlib.sha256()
    for chunk in (body[:7], body[7:]):
        digest.update(chunk)
    assert weak_etag_of_digest(digest.hexdigest()) == weak_etag(body)

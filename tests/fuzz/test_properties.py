"""Hypothesis properties for hostile input: arbitrary Unicode, extreme numbers, odd dates.

Every answer is a 2xx or a documented 4xx (never a 5xx), and what is stored is exactly what is
read back. Runs on SQLite and PostgreSQL inside the usual rolled-back test transaction.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Account, make_account

# Examples share the test's transaction (and its account); that is intended here.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# What pydantic's strip_whitespace removes: Unicode White_Space (Rust's trim()).
WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
SPECIAL = [
    "🦄",
    "👩🏽‍💻",  # ZWJ sequence with a skin-tone modifier
    "🇫🇷",
    "שלום עולם",  # RTL
    "مرحبا",
    "\u202eevil\u202c",  # RTL override
    "e\u0301\u0301\u0301",  # stacked combining marks
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\x00",
    "a\x00b",
    "\ufeff",
    "\u200b",
    "\x1c\x1f",
    "\U0001d57f\U0001d58a\U0001d598\U0001d599",  # mathematical Fraktur
    "\U0010ffff",
    "'; DROP TABLE tasks; --",
    "%s%n%x",
    "../../etc/passwd",
]
texts = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    st.lists(st.sampled_from([*SPECIAL, " ", "\u3000", "x"]), max_size=12).map("".join),
    st.sampled_from(SPECIAL),
)


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _title_is_valid(raw: str) -> bool:
    trimmed = raw.strip(WHITE_SPACE)
    return "\x00" not in raw and 1 <= len(trimmed) <= 255 and re.search(r"\S", trimmed) is not None


def _assert_utc(value: str) -> None:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset() == UTC.utcoffset(None)


@SHARED_FIXTURES
@given(title=texts, description=st.one_of(st.none(), texts))
def test_any_unicode_is_stored_exactly_or_refused_with_422(
    client: TestClient, owner: Account, title: str, description: str | None
) -> None:
    response = client.post(
        "/api/v1/tasks", json={"title": title, "description": description}, headers=owner.headers
    )
    description_ok = description is None or (
        "\x00" not in description and len(description.strip(WHITE_SPACE)) <= 10_000
    )
    if not (_title_is_valid(title) and description_ok):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["title"] == title.strip(WHITE_SPACE)
    expected_description = None if description is None else description.strip(WHITE_SPACE)
    assert created["description"] == expected_description
    read = client.get(f"/api/v1/tasks/{created['id']}", headers=owner.headers).json()
    assert read == created
    listed = client.get("/api/v1/tasks?limit=1", headers=owner.headers).json()["items"]
    assert listed == [created]


@SHARED_FIXTURES
@given(title=texts)
def test_patch_round_trips_what_it_accepts(client: TestClient, owner: Account, title: str) -> None:
    task = client.post("/api/v1/tasks", json={"title": "before"}, headers=owner.headers).json()
    url = f"/api/v1/tasks/{task['id']}"
    response = client.patch(url, json={"title": title}, headers=owner.headers)
    if not _title_is_valid(title):
        assert response.status_code == 422, response.text
        return
    assert response.status_code == 200, response.text
    read = client.get(url, headers=owner.headers).json()
    assert read["title"] == title.strip(WHITE_SPACE) == response.json()["title"]


@SHARED_FIXTURES
@given(name=texts)
def test_profile_name_round_trips_what_it_accepts(
    client: TestClient, owner: Account, name: str
) -> None:
    response = client.patch("/api/v1/users/me", json={"name": name}, headers=owner.headers)
    trimmed = name.strip(WHITE_SPACE)
    valid = "\x00" not in name and 1 <= len(trimmed) <= 100 and re.search(r"\S", trimmed)
    if not valid:
        assert response.status_code == 422, response.text
        return
    assert response.status_code == 200, response.text
    assert client.get("/api/v1/users/me", headers=owner.headers).json()["name"] == trimmed


# Anything a client might put in a JSON number or a query string.
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 2**31, 2**63, -(2**63) - 1, 10**400, 1e-320, -0.0, 5e-324]),
)


@SHARED_FIXTURES
@given(limit=st.one_of(numbers, st.sampled_from(["nan", "inf", "-inf", "1e2", "", "\uff10"])))
def test_page_size_is_200_in_range_else_422(
    client: TestClient, owner: Account, limit: object
) -> None:
    response = client.get("/api/v1/tasks", params={"limit": str(limit)}, headers=owner.headers)
    in_range = isinstance(limit, int) and 1 <= limit <= 100
    if in_range:
        assert response.status_code == 200, response.text
        return
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        # Only numerically whole values in range may be read as a page size (e.g. 5.0).
        assert float(str(limit)) == int(float(str(limit)))
        assert 1 <= float(str(limit)) <= 100


@SHARED_FIXTURES
@given(value=st.one_of(numbers, st.text(max_size=5), st.none(), st.lists(st.booleans())))
def test_non_boolean_completed_is_422(client: TestClient, owner: Account, value: Any) -> None:
    body = json.dumps({"title": "t", "completed": value})
    response = client.post(
        "/api/v1/tasks",
        content=body,
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


@SHARED_FIXTURES
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.one_of(st.none(), st.timezones()),
    ),
    junk=st.sampled_from(["", "0000-00-00", "2026-02-30T00:00:00Z", "-1", "9999999999"]),
)
def test_client_timestamps_are_ignored_and_answers_are_utc(
    client: TestClient, owner: Account, moment: datetime, junk: str
) -> None:
    # Read-only fields may be echoed back by a client; odd dates there never matter.
    payload = {
        "title": "dated",
        "created_at": moment.isoformat(),
        "updated_at": junk,
        "completed_at": moment.isoformat(),
        "completed": True,
    }
    before = datetime.now(UTC)
    response = client.post("/api/v1/tasks", json=payload, headers=owner.headers)
    assert response.status_code == 201, response.text
    task = response.json()
    for field in ("created_at", "updated_at", "completed_at"):
        _assert_utc(task[field])
        assert datetime.fromisoformat(task[field]) >= before.replace(microsecond=0)


@SHARED_FIXTURES
@given(cursor=st.one_of(st.text(max_size=200), st.binary(max_size=100).map(bytes.hex)))
def test_forged_cursors_are_400_never_500(client: TestClient, owner: Account, cursor: str) -> None:
    response = client.get("/api/v1/tasks", params={"cursor": cursor}, headers=owner.headers)
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code == 200:
        assert cursor == ""


@SHARED_FIXTURES
@given(
    prefix=st.text(max_size=5),
    surrogate=st.characters(categories=["Cs"]),
    suffix=st.text(max_size=5),
)
def test_lone_surrogates_are_422(
    client: TestClient, owner: Account, prefix: str, surrogate: str, suffix: str
) -> None:
    # Valid JSON (`"\udc00"` escapes are legal) that no database can store as UTF-8 text.
    body = json.dumps({"title": f"{prefix}{surrogate}{suffix}x"}, ensure_ascii=True)
    response = client.post(
        "/api/v1/tasks", content=body, headers={**owner.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text


def test_escaped_surrogate_pair_is_the_character(client: TestClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/tasks",
        content=b'{"title": "\\ud83e\\udd84"}',
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "\U0001f984"

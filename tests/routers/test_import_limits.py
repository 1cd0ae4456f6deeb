"""POST /api/v1/import against what is not a good file: no token, too large, too many tasks,
hostile bytes (a 422 naming the line, never a 500), and any text in any field (Hypothesis)."""

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import Account, assert_problem, make_account
from tests.fuzz.test_properties import SHARED_FIXTURES, texts
from tests.routers.test_import import imported, post_import, tasks_of

# Each example is an HTTP import: a few milliseconds, but a loaded machine stalls some far
# longer than Hypothesis's default 200 ms deadline; 5 s still catches a hang.
THROUGH_THE_API = settings(SHARED_FIXTURES, deadline=timedelta(seconds=5), max_examples=60)


@pytest.fixture
def fuzz_owner(client: TestClient) -> Account:
    return make_account(client)


def test_an_empty_body_is_a_422_even_for_a_dry_run(client: TestClient) -> None:
    owner = make_account(client)
    problem = assert_problem(post_import(client, owner, b"", "csv", dry_run="true"), 422)
    assert problem["errors"][0]["field"] == "file"


def test_import_needs_a_token(client: TestClient) -> None:
    response = client.post("/api/v1/import?format=csv", content=b"title\r\nx\r\n")
    assert_problem(response, 401)


def test_a_file_over_import_max_bytes_is_a_413(make_client: Any) -> None:
    client = make_client(import_max_bytes=2048)
    owner = make_account(client)
    body = "title\r\n" + "a task\r\n" * 400
    assert_problem(post_import(client, owner, body, "csv"), 413)
    # Larger than MAX_BODY_BYTES elsewhere, yet accepted here up to IMPORT_MAX_BYTES.
    roomy = make_client(max_body_bytes=1024, import_max_bytes=10_000)
    other = make_account(roomy)
    report = imported(roomy, other, "title\r\n" + "a task\r\n" * 300, "csv")
    assert report["created"]["tasks"] == 300


def test_more_tasks_than_import_max_tasks_is_a_422(make_client: Any) -> None:
    client = make_client(import_max_tasks=3)
    owner = make_account(client)
    problem = assert_problem(
        post_import(client, owner, "title\r\na\r\nb\r\nc\r\nd\r\n", "csv"), 422
    )
    assert problem["errors"][0]["reason"] == "more than 3 tasks (IMPORT_MAX_TASKS)"


@pytest.mark.parametrize(
    ("format", "body", "line"),
    [
        ("csv", b"title\r\nok\r\ncaf\xe9\r\n", 3),
        ("csv", b'title,description\r\nok,fine\r\nx,"unclosed\r\n', 3),
        ("csv", b"title\r\nok\r\n" + b"x" * 70_000 + b"\r\n", 3),
        ("todoist", b"TYPE,CONTENT\r\ntask,a\x00b\r\n", 2),
        ("json", b'{"format": "tasks-api",\n "version": 1, "tasks": [\n' + b"[" * 5000, 3),
        ("json", b'{"format":\n "tasks-api", oops}', 2),
        ("ics", b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VTODO\r\n" * 100_000, 4),
        (
            "ics",
            b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nDUE:garbage\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            2,
        ),
        ("ics", b"not a calendar\r\n", 1),
    ],
    ids=[
        "latin-1",
        "unclosed-quote",
        "huge-line",
        "nul",
        "deep-json",
        "bad-json",
        "nested-ics",
        "bad-ics-value",
        "not-ics",
    ],
)
def test_hostile_files_are_a_422_naming_the_line(
    client: TestClient, format: str, body: bytes, line: int
) -> None:
    owner = make_account(client)
    problem = assert_problem(post_import(client, owner, body, format), 422)
    assert problem["errors"][0]["line"] == line, problem
    assert problem["errors"][0]["field"] == "file"
    assert tasks_of(client, owner) == []


def test_deep_json_sent_as_json_is_still_a_422_with_its_line(client: TestClient) -> None:
    owner = make_account(client)
    response = client.post(
        "/api/v1/import?format=json",
        content=b"{\n" + b"[" * 100,
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["line"] == 2


def test_nul_and_overlong_values_inside_json_strings_are_422s(client: TestClient) -> None:
    owner = make_account(client)
    document = {
        "format": "tasks-api",
        "version": 1,
        "profile": {"name": "a\u0000b", "timezone": "Not/AZone"},
        "lists": [{"id": "l1", "name": "bad\u0000list", "inbox": False}],
        "tags": ["ok", "x" * 51, "nul\u0000"],
        "tasks": [{"id": "t1", "list_id": "l1", "title": "t\u0000"}],
    }
    problem = assert_problem(post_import(client, owner, json.dumps(document), "json"), 422)
    fields = {error["field"] for error in problem["errors"]}
    assert {"tags[1]", "tags[2]", "tasks[0].title"} <= fields
    assert tasks_of(client, owner) == []


@THROUGH_THE_API
@given(
    values=st.lists(texts, min_size=3, max_size=3),
    format=st.sampled_from(["csv", "json", "todoist"]),
)
def test_any_text_in_any_field_is_imported_or_refused_never_a_500(
    client: TestClient, fuzz_owner: Account, values: list[str], format: str
) -> None:
    title, tag, list_name = values
    if format == "json":
        body = json.dumps(
            {
                "format": "tasks-api",
                "version": 1,
                "profile": {"name": tag, "timezone": list_name},
                "lists": [{"id": "l", "name": list_name, "color": None, "inbox": False}],
                "tags": [tag],
                "tasks": [{"id": "t", "list_id": "l", "title": title, "tags": [tag]}],
            }
        ).encode()
    else:
        rows = (
            [["title", "tags", "list"], [title, tag, list_name]]
            if format == "csv"
            else [["TYPE", "CONTENT", "DESCRIPTION"], ["section", list_name, ""],
                  ["task", f"{title} @{tag}", tag]]
        )  # fmt: skip
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        body = buffer.getvalue().encode()
    response = post_import(client, fuzz_owner, body, format)
    assert response.status_code in {200, 422}, response.text


def test_a_long_chain_under_an_earlier_import_is_a_422_not_a_crash(client: TestClient) -> None:
    owner = make_account(client)
    imported(client, owner, "id,title\r\nroot,Root\r\n", "csv")
    rows = ["id,title,parent_id", "root,Root,"]
    rows += [f"t{n},Level {n},{f't{n - 1}' if n else 'root'}" for n in range(3000)]
    problem = assert_problem(post_import(client, owner, "\r\n".join(rows), "csv"), 422)
    assert problem["errors"][0]["field"] == "parent_id"
    assert [t["title"] for t in tasks_of(client, owner)] == ["Root"]

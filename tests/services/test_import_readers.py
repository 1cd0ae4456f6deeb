"""Hypothesis fuzzing of each import reader, and of the checks after it: whatever the bytes,
a reader returns a plan (problems with a line or null, never an exception) within a bounded
time per example. No database: readers and checks are pure."""

import json
import time
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.porting import read_csv, read_ics, read_json, read_todoist
from app.services.porting.plan import ImportPlan
from app.services.porting.validate import check_task, link_parents

# Each example must finish in well under a second; a reader that hangs fails here.
BOUNDED = settings(max_examples=150, deadline=timedelta(seconds=2), derandomize=True)
SECONDS_PER_EXAMPLE = 2.0

READERS: dict[str, Any] = {
    "json": read_json.read,
    "csv": read_csv.read,
    "todoist": read_todoist.read,
    "ics": lambda data: read_ics.read(data, max_components=1000),
}

cells = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "task", "section", "note", "1", "4", "9", "2026-12-01", "2026-12-01 10:00",
         "FREQ=DAILY", "P1D@18:00", "PT15M", "=1+1", "'@x", '"', '""', "\r", "\n", "@label",
         "true", "high", "t0", "t1"]
    ),
)  # fmt: skip
csv_rows = st.lists(st.lists(cells, min_size=1, max_size=8), max_size=12)
ics_lines = st.lists(
    st.one_of(
        st.sampled_from(
            ["BEGIN:VCALENDAR", "END:VCALENDAR", "BEGIN:VTODO", "END:VTODO", "BEGIN:VALARM",
             "END:VALARM", "UID:a", "UID:b", "RELATED-TO:a", "RELATED-TO:b", "SUMMARY:x",
             "DUE:20261201T100000Z", "DUE;VALUE=DATE:20261201", "DUE:nonsense",
             "RRULE:FREQ=WEEKLY", "RRULE:FREQ=NOPE", "TRIGGER:-PT15M", "TRIGGER:PT1H",
             "CATEGORIES:a,b", "PRIORITY:x", "PRIORITY:5", "STATUS:COMPLETED",
             "COMPLETED:20261101T100000Z", " folded", "X-ODD;PARAM=\"q\":v"]
        ),
        st.text(max_size=30).map(lambda text: f"SUMMARY:{text}"),
    ),
    max_size=30,
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "title", "parent_id", "list_id", "due", "tags", "reminders"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
json_documents = st.builds(
    lambda tasks, lists: {
        "format": "tasks-api",
        "version": 1,
        "profile": {"timezone": "UTC"},
        "lists": lists,
        "tags": [],
        "tasks": tasks,
    },
    st.lists(json_values, max_size=6),
    st.lists(json_values, max_size=3),
)


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _read_and_check(reader: str, data: bytes) -> ImportPlan:
    started = time.perf_counter()
    plan: ImportPlan = READERS[reader](data)
    checked = [task for task in (check_task(plan, t) for t in plan.tasks) if task]
    link_parents(plan, checked, set())
    assert time.perf_counter() - started < SECONDS_PER_EXAMPLE
    for problem in [*plan.problems, *plan.warnings]:
        line = problem["line"]
        assert line is None or (isinstance(line, int) and line >= 0)
        assert isinstance(problem["field"], str)
        assert isinstance(problem["reason"], str)
    return plan


@BOUNDED
@given(data=st.binary(max_size=2000), reader=st.sampled_from(sorted(READERS)))
def test_any_bytes_make_a_plan(data: bytes, reader: str) -> None:
    _read_and_check(reader, data)


@BOUNDED
@given(rows=csv_rows)
def test_csv_like_files_make_a_plan(rows: list[list[str]]) -> None:
    _read_and_check("csv", _csv([["id", "title", "parent_id", "due", "reminders"], *rows]))


@BOUNDED
@given(rows=csv_rows)
def test_todoist_like_files_make_a_plan(rows: list[list[str]]) -> None:
    header = ["TYPE", "CONTENT", "DESCRIPTION", "PRIORITY", "INDENT", "DATE", "TIMEZONE"]
    _read_and_check("todoist", _csv([header, *rows]))


@BOUNDED
@given(lines=ics_lines)
def test_ics_like_files_make_a_plan(lines: list[str]) -> None:
    _read_and_check("ics", "\r\n".join(lines).encode())


@BOUNDED
@given(document=json_documents)
def test_json_like_documents_make_a_plan(document: dict[str, Any]) -> None:
    _read_and_check("json", json.dumps(document).encode())


def test_a_hundred_thousand_nested_components_are_refused_quickly() -> None:
    data = b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VTODO\r\n" * 100_000
    started = time.perf_counter()
    plan = read_ics.read(data)
    assert time.perf_counter() - started < 1
    assert plan.problems == [
        {"line": 4, "field": "file", "reason": "components nested more than 3 deep"}
    ]


def test_a_hundred_thousand_flat_components_are_refused_before_parsing() -> None:
    data = b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VTODO\r\nEND:VTODO\r\n" * 100_000
    started = time.perf_counter()
    plan = read_ics.read(data, max_components=40_100)
    assert time.perf_counter() - started < 1
    assert plan.problems[0]["reason"] == "more than 40100 components"

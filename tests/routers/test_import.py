"""POST /api/v1/import: our JSON (lossless round trip), our CSV, iCalendar VTODOs and Todoist's
CSV; dry runs, all or nothing, no duplicates on a second import, limits, line numbers."""

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import Account, assert_problem, make_account, make_task
from tests.fuzz.test_properties import SHARED_FIXTURES, texts
from tests.routers.test_export import export, fill_account


@pytest.fixture
def fuzz_owner(client: TestClient) -> Account:
    return make_account(client)


TODOIST = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,"
    "DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG\r\n"
    "task,Plan the trip @travel @Family,Where to?,1,1,Ada (1),,2026-12-20,en,,,,,\r\n"
    "task,Book flights,,2,2,Ada (1),,2026-12-01 09:30,en,Europe/Paris,,,,\r\n"
    "note,Window seat please,,,,,,,,,,,,\r\n"
    "task,Compare prices,,4,3,Ada (1),,,,,,,,\r\n"
    ",,,,,,,,,,,,,\r\n"
    "section,Errands,,,,,,,,,,,,\r\n"
    "task,Buy milk,,3,1,Ada (1),,every day,en,,,,,\r\n"
)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VTODO\r\nUID:parent-1@example.com\r\nSUMMARY:Renovate\\, the kitchen\r\n"
    "DUE;VALUE=DATE:20261215\r\nPRIORITY:1\r\nCATEGORIES:home,diy\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
    "END:VTODO\r\n"
    "BEGIN:VTODO\r\nUID:child-1@example.com\r\nSUMMARY:Choose tiles\r\n"
    "RELATED-TO:parent-1@example.com\r\nSTATUS:COMPLETED\r\nCOMPLETED:20261101T100000Z\r\n"
    "PRIORITY:9\r\nEND:VTODO\r\n"
    "END:VCALENDAR\r\n"
)


def post_import(
    client: TestClient, account: Account, body: bytes | str, format: str, **params: Any
) -> Any:
    content = body.encode() if isinstance(body, str) else body
    return client.post(
        "/api/v1/import",
        params={"format": format, **params},
        content=content,
        headers={**account.headers, "Content-Type": "application/octet-stream"},
    )


def imported(client: TestClient, account: Account, body: bytes | str, format: str) -> Any:
    response = post_import(client, account, body, format)
    assert response.status_code == 200, response.text
    return response.json()


def tasks_of(client: TestClient, account: Account) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = export(client, account).json()["tasks"]
    return tasks


def normalised(document: dict[str, Any]) -> dict[str, Any]:
    """The export without what an import may change: ids (tasks become their index, lists
    their name) and the moment of export."""
    lists = {item["id"]: item["name"] for item in document["lists"]}
    index = {task["id"]: number for number, task in enumerate(document["tasks"])}
    return {
        "profile": {k: v for k, v in document["profile"].items() if k != "email"},
        "lists": sorted(
            (item["name"], item["color"], item["position"], item["archived"], item["inbox"])
            for item in document["lists"]
        ),
        "tags": document["tags"],
        "tasks": [
            {
                **task,
                "id": index[task["id"]],
                "parent_id": index.get(task["parent_id"]),
                "list_id": lists[task["list_id"]],
            }
            for task in document["tasks"]
        ],
    }


def test_json_round_trip_is_lossless(client: TestClient) -> None:
    owner, fresh = make_account(client), make_account(client)
    fill_account(client, owner)
    first = export(client, owner).json()
    report = imported(client, fresh, export(client, owner).content, "json")
    assert report["created"] == {
        "lists": 1,
        "tasks": 5,
        "tags": 3,
        "reminders": 2,
        "completions": 1,
    }
    again = export(client, fresh).json()
    assert normalised(again) == normalised(first)
    assert {task["id"] for task in again["tasks"]}.isdisjoint(t["id"] for t in first["tasks"])


def test_a_second_import_of_the_same_file_creates_nothing(client: TestClient) -> None:
    owner, fresh = make_account(client), make_account(client)
    fill_account(client, owner)
    files = {
        "json": export(client, owner).content,
        "csv": export(client, owner, format="csv").content,
        "todoist": TODOIST.encode(),
        "ics": ICS.encode(),
    }
    created = 0
    for format, body in files.items():
        first = imported(client, fresh, body, format)
        assert first["created"]["tasks"] > 0, format
        created += first["created"]["tasks"]
        second = imported(client, fresh, body, format)
        assert second["created"]["tasks"] == 0, (format, second)
        assert second["skipped"] == first["created"]["tasks"]
    assert len(tasks_of(client, fresh)) == created


def test_json_restored_into_its_own_account_duplicates_nothing(client: TestClient) -> None:
    owner = make_account(client)
    fill_account(client, owner)
    report = imported(client, owner, export(client, owner).content, "json")
    assert report["created"]["tasks"] == 0
    assert report["skipped"] == 5


def test_csv_round_trip_keeps_what_the_csv_holds(client: TestClient) -> None:
    owner, fresh = make_account(client), make_account(client)
    fill_account(client, owner)
    report = imported(client, fresh, export(client, owner, format="csv").content, "csv")
    assert report["created"]["lists"] == 1  # Work; the Inbox is the account's own
    assert report["created"]["reminders"] == 2
    before = {t["title"]: t for t in tasks_of(client, owner)}
    after = {t["title"]: t for t in tasks_of(client, fresh)}
    assert before.keys() == after.keys()
    for title, task in before.items():
        copy = after[title]
        for name in ("description", "completed", "priority", "due", "tags", "recurrence"):
            assert copy[name] == task[name], (title, name)
        assert [r["before"] for r in copy["reminders"]] == [r["before"] for r in task["reminders"]]
    assert after["Check sums"]["parent_id"] == after["Collect numbers"]["id"]
    assert after["Pay the rent"]["description"].startswith("=HYPERLINK")


def test_todoist_template_mapping(client: TestClient) -> None:
    owner = make_account(client)
    report = imported(client, owner, TODOIST, "todoist")
    assert report["created"]["tasks"] == 4
    assert report["created"]["lists"] == 1
    assert report["warnings"] == [
        {"line": 8, "field": "DATE", "reason": "not a date this import reads: 'every day'; no due"}
    ]
    tasks = {task["title"]: task for task in tasks_of(client, owner)}
    trip, flights, prices = tasks["Plan the trip"], tasks["Book flights"], tasks["Compare prices"]
    assert (trip["priority"], trip["tags"], trip["due"]) == (
        "high",
        ["Family", "travel"],
        "2026-12-20",
    )
    assert trip["description"] == "Where to?"
    assert (flights["priority"], flights["parent_id"]) == ("medium", trip["id"])
    assert flights["due"] == "2026-12-01T08:30:00Z"  # 09:30 in Paris
    assert flights["description"] == "Window seat please"
    assert (prices["priority"], prices["parent_id"]) == ("none", flights["id"])
    milk = tasks["Buy milk"]
    assert (milk["priority"], milk["due"]) == ("low", None)
    lists = {item["id"]: item["name"] for item in export(client, owner).json()["lists"]}
    assert lists[milk["list_id"]] == "Errands"
    assert lists[trip["list_id"]] == "Inbox"


def test_ics_vtodo_mapping(client: TestClient) -> None:
    owner = make_account(client)
    report = imported(client, owner, ICS, "ics")
    assert report["created"]["tasks"] == 2
    tasks = {task["title"]: task for task in tasks_of(client, owner)}
    kitchen, tiles = tasks["Renovate, the kitchen"], tasks["Choose tiles"]
    assert (kitchen["due"], kitchen["priority"]) == ("2026-12-15", "high")
    assert kitchen["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert kitchen["tags"] == ["diy", "home"]
    assert kitchen["reminders"] == [{"at": None, "before": "PT15M", "time": None}]
    assert (tiles["parent_id"], tiles["completed"]) == (kitchen["id"], True)
    assert (tiles["completed_at"], tiles["priority"]) == ("2026-11-01T10:00:00Z", "low")


def test_dry_run_reports_and_writes_nothing(client: TestClient) -> None:
    owner = make_account(client)
    body = TODOIST + "task,,,,1,,,,,,,,,\r\ntask,Bad,,7,1,,,,,,,,,\r\n"
    problem = assert_problem(post_import(client, owner, body, "todoist", dry_run="true"), 422)
    assert problem["dry_run"] is True
    assert {(p["line"], p["field"]) for p in problem["errors"]} == {(9, "title"), (10, "PRIORITY")}
    assert [w["line"] for w in problem["warnings"]] == [8]
    assert tasks_of(client, owner) == []
    response = post_import(client, owner, TODOIST, "todoist", dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["dry_run"], report["created"]["tasks"], report["created"]["lists"]) == (
        True,
        4,
        1,
    )
    assert tasks_of(client, owner) == []
    assert [item["name"] for item in export(client, owner).json()["lists"]] == ["Inbox"]
    assert imported(client, owner, TODOIST, "todoist")["created"] == report["created"]


def test_a_file_with_one_bad_row_imports_nothing(client: TestClient) -> None:
    owner = make_account(client)
    body = "title,due,priority\r\nfine,2026-12-01,high\r\nbad due,31/12/2026,low\r\n"
    problem = assert_problem(post_import(client, owner, body, "csv"), 422)
    assert problem["type"] == "/problems/import-invalid"
    [error] = problem["errors"]
    assert (error["line"], error["field"]) == (3, "due")
    assert tasks_of(client, owner) == []


def test_subtasks_deeper_than_four_levels_are_refused(client: TestClient) -> None:
    owner = make_account(client)
    rows = ["id,title,parent_id"] + [f"t{n},level {n},{f't{n - 1}' if n else ''}" for n in range(5)]
    problem = assert_problem(post_import(client, owner, "\r\n".join(rows), "csv"), 422)
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [(6, "parent_id")]


def test_a_parent_cannot_be_another_users_task(client: TestClient) -> None:
    owner, other = make_account(client), make_account(client)
    theirs = make_task(client, other, title="theirs")
    body = f"title,parent_id\r\nmine,{theirs['id']}\r\n"
    problem = assert_problem(post_import(client, owner, body, "csv"), 422)
    [error] = problem["errors"]
    assert (error["line"], error["field"], error["reason"]) == (2, "parent_id", "no such task")
    assert (error["loc"], error["msg"]) == (["file", 2, "parent_id"], "no such task")
    assert [t["title"] for t in tasks_of(client, other)] == ["theirs"]


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


@SHARED_FIXTURES
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


def test_a_subtask_in_another_list_than_its_parent_is_refused(client: TestClient) -> None:
    owner = make_account(client)
    body = "id,title,list,parent_id\r\np,Parent,Work,\r\nc,Child,Home,p\r\nd,Other,work,p\r\n"
    problem = assert_problem(post_import(client, owner, body, "csv"), 422)
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [(3, "list")]


def test_an_open_subtask_reopens_its_completed_parents(client: TestClient) -> None:
    owner = make_account(client)
    body = "id,title,completed,parent_id\r\na,Top,true,\r\nb,Middle,true,a\r\nc,Leaf,false,b\r\n"
    report = imported(client, owner, body, "csv")
    assert [(w["line"], w["field"]) for w in report["warnings"]] == [
        (3, "completed"),
        (2, "completed"),
    ]
    tasks = {task["title"]: task for task in tasks_of(client, owner)}
    assert [tasks[t]["completed"] for t in ("Top", "Middle", "Leaf")] == [False, False, False]
    top = client.get(f"/api/v1/tasks/{tasks['Top']['id']}", headers=owner.headers).json()
    assert (top["subtask_count"], top["open_subtask_count"]) == (1, 1)


def test_a_json_task_in_a_list_the_file_lacks_is_refused(client: TestClient) -> None:
    owner = make_account(client)
    document = {
        "format": "tasks-api",
        "version": 1,
        "lists": [],
        "tasks": [{"id": "t", "list_id": "nowhere", "title": "x"}],
    }
    problem = assert_problem(post_import(client, owner, json.dumps(document), "json"), 422)
    assert [e["field"] for e in problem["errors"]] == ["tasks[0].list_id"]


def test_a_long_chain_under_an_earlier_import_is_a_422_not_a_crash(client: TestClient) -> None:
    owner = make_account(client)
    imported(client, owner, "id,title\r\nroot,Root\r\n", "csv")
    rows = ["id,title,parent_id", "root,Root,"]
    rows += [f"t{n},Level {n},{f't{n - 1}' if n else 'root'}" for n in range(3000)]
    problem = assert_problem(post_import(client, owner, "\r\n".join(rows), "csv"), 422)
    assert problem["errors"][0]["field"] == "parent_id"
    assert [t["title"] for t in tasks_of(client, owner)] == ["Root"]

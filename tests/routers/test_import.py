"""POST /api/v1/import: our JSON (lossless round trip), our CSV, iCalendar VTODOs and Todoist's
CSV; dry runs, all or nothing, no duplicates on a second import, the subtree rules. Limits and
hostile files: test_import_limits.py."""

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection

from tests.factories import Account, assert_problem, make_account, make_task
from tests.routers.test_export import export, fill_account
from tests.routers.test_webhooks import _install, create_webhook, deliveries

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


def test_imported_tasks_are_announced_to_webhooks(client: TestClient) -> None:
    owner = make_account(client)
    _install(client)
    hook = create_webhook(client, owner)
    imported(client, owner, "id,title,parent_id,tags\r\np,Parent,,work\r\nc,Child,p,\r\n", "csv")
    found = deliveries(client, owner, hook["id"])
    assert sorted((d["event_type"], d["payload"]["data"]["title"]) for d in found) == [
        ("task.created", "Child"),
        ("task.created", "Parent"),
    ]
    parent = next(d["payload"]["data"] for d in found if d["payload"]["data"]["title"] == "Parent")
    assert parent["tags"] == ["work"]
    # A dry run, and a second import that creates nothing, announce nothing.
    body = "id,title\r\nq,Another\r\n"
    post_import(client, owner, body, "csv", dry_run="true")
    imported(client, owner, "id,title,parent_id,tags\r\np,Parent,,work\r\nc,Child,p,\r\n", "csv")
    assert len(deliveries(client, owner, hook["id"])) == 2


def test_ics_times_zones_alarms_and_cancelled_to_dos(client: TestClient) -> None:
    owner = make_account(client)
    zone = client.patch(
        "/api/v1/users/me", json={"timezone": "Europe/Paris"}, headers=owner.headers
    )
    assert zone.status_code == 200, zone.text
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        "BEGIN:VTODO\r\nUID:z\r\nSUMMARY:Zoned\r\nDUE;TZID=America/New_York:20261201T093000\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DATE-TIME:20261130T080000Z\r\n"
        "END:VALARM\r\nEND:VTODO\r\n"
        "BEGIN:VTODO\r\nUID:f\r\nSUMMARY:Floating\r\nDTSTART:20261201T093000\r\nEND:VTODO\r\n"
        "BEGIN:VTODO\r\nUID:x\r\nSUMMARY:Dropped\r\nSTATUS:CANCELLED\r\nEND:VTODO\r\n"
        "BEGIN:VTODO\r\nUID:n\r\nSUMMARY:Untitled alarm\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
        "TRIGGER:PT1H\r\nEND:VALARM\r\nEND:VTODO\r\n"
        "END:VCALENDAR\r\n"
    )
    report = imported(client, owner, body, "ics")
    assert report["created"]["tasks"] == 3
    # Each warning names the line of its BEGIN:VTODO.
    assert [(w["line"], w["field"]) for w in report["warnings"]] == [(18, "STATUS"), (23, "VALARM")]
    tasks = {task["title"]: task for task in tasks_of(client, owner)}
    assert tasks["Zoned"]["due"] == "2026-12-01T14:30:00Z"
    assert tasks["Zoned"]["reminders"] == [
        {"at": "2026-11-30T08:00:00Z", "before": None, "time": None}
    ]
    assert tasks["Floating"]["due"] == "2026-12-01T08:30:00Z"  # 09:30 in Paris
    assert tasks["Untitled alarm"]["reminders"] == []


def _explode_on_title(connection: Connection, title: str) -> None:
    """A trigger that makes the database refuse one task's INSERT: a failure in the middle of
    the import's writes, after its lists, tags and first level of tasks went in."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "CREATE FUNCTION explode() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.title = '{title}' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; "
            "END $$ LANGUAGE plpgsql"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER explode BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION explode()"
        )
    else:
        connection.exec_driver_sql(
            f"CREATE TRIGGER explode BEFORE INSERT ON tasks WHEN NEW.title = '{title}' "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )


def test_a_failure_halfway_through_the_writes_leaves_nothing(
    client: TestClient, connection: Connection
) -> None:
    owner = make_account(client)
    make_task(client, owner, title="already there")
    _explode_on_title(connection, "explode")
    body = "id,title,list,tags,parent_id\r\np,Parent,Work,new-tag,\r\nc,explode,Work,,p\r\n"
    response = post_import(client, owner, body, "csv")
    assert response.status_code == 500
    document = export(client, owner).json()
    assert [task["title"] for task in document["tasks"]] == ["already there"]
    assert [item["name"] for item in document["lists"]] == ["Inbox"]
    assert document["tags"] == []

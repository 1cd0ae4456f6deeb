"""GET /api/v1/export: the whole account as JSON (valid against its JSON Schema) or CSV,
streamed as an attachment, only ever the caller's own data."""

import csv
import io
import json
from typing import Any

import jsonschema
import pytest
import vobject
from fastapi.testclient import TestClient

from app.services.porting import export as export_service
from tests.factories import Account, assert_problem, make_account, make_task
from tests.live import PROJECT_ROOT

SCHEMA = json.loads(
    (PROJECT_ROOT / "specs/2-backend-api/contracts/export-v1.schema.json").read_text()
)


def export(client: TestClient, account: Account, **params: Any) -> Any:
    response = client.get("/api/v1/export", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response


def fill_account(client: TestClient, account: Account) -> dict[str, Any]:
    """Lists, tags, a subtree, a recurring task with a completion, reminders."""
    headers = account.headers
    work = client.post("/api/v1/lists", json={"name": "Work", "color": "#112233"}, headers=headers)
    assert work.status_code == 201, work.text
    parent = make_task(
        client, account, title="Quarterly report", list_id=work.json()["id"], tags=["work"]
    )
    child = make_task(client, account, title="Collect numbers", parent_id=parent["id"])
    make_task(client, account, title="Check sums", parent_id=child["id"], priority="high")
    rent = make_task(
        client,
        account,
        title="Pay the rent",
        due="2026-12-01",
        recurrence="FREQ=MONTHLY",
        tags=["home", "Money"],
        description='=HYPERLINK("http://evil.example")',
    )
    done = client.post(f"/api/v1/tasks/{rent['id']}/complete", headers=headers)
    assert done.status_code == 200, done.text
    for reminder in ({"before": "P1D", "time": "18:00"}, {"at": "2026-11-30T08:00:00Z"}):
        created = client.post(
            f"/api/v1/tasks/{rent['id']}/reminders", json=reminder, headers=headers
        )
        assert created.status_code == 201, created.text
    make_task(client, account, title="@call mum", due="2026-12-24T17:30:00Z", completed=True)
    inbox = next(
        item for item in client.get("/api/v1/lists", headers=headers).json() if item["inbox"]
    )
    coloured = client.patch(
        f"/api/v1/lists/{inbox['id']}", json={"color": "#ABCDEF", "position": 3}, headers=headers
    )
    assert coloured.status_code == 200, coloured.text
    renamed = client.patch("/api/v1/users/me", json={"timezone": "Europe/Paris"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    return {"parent": parent, "child": child, "rent": rent}


def test_export_json_is_the_whole_account_and_valid_against_its_schema(
    client: TestClient,
) -> None:
    owner = make_account(client)
    made = fill_account(client, owner)
    response = export(client, owner, format="json")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith('attachment; filename="tasks-export-')
    assert response.headers["content-disposition"].endswith('.json"')
    document = response.json()
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert (document["format"], document["version"]) == ("tasks-api", 1)
    assert document["profile"] == {"email": owner.email, "name": None, "timezone": "Europe/Paris"}
    assert sorted((item["name"], item["inbox"]) for item in document["lists"]) == [
        ("Inbox", True),
        ("Work", False),
    ]
    assert document["tags"] == ["home", "Money", "work"]
    by_title = {task["title"]: task for task in document["tasks"]}
    assert len(by_title) == 5
    assert by_title["Collect numbers"]["parent_id"] == made["parent"]["id"]
    assert by_title["Check sums"]["parent_id"] == made["child"]["id"]
    rent = by_title["Pay the rent"]
    assert rent["recurrence"] == "FREQ=MONTHLY"
    assert rent["due"] == "2027-01-01"  # completing it moved it on
    assert [c["due"] for c in rent["completions"]] == ["2026-12-01"]
    assert rent["reminders"] == [
        {"at": None, "before": "P1D", "time": "18:00:00"},
        {"at": "2026-11-30T08:00:00Z", "before": None, "time": None},
    ]
    assert rent["tags"] == ["home", "Money"]
    assert by_title["@call mum"]["completed"] is True


def test_export_csv_has_one_row_per_task_iso_dates_and_no_formulas(client: TestClient) -> None:
    owner = make_account(client)
    fill_account(client, owner)
    response = export(client, owner, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    assert not response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 5
    by_title = {row["title"]: row for row in rows}
    rent = by_title["Pay the rent"]
    assert rent["description"] == '\'=HYPERLINK("http://evil.example")'
    assert (rent["due"], rent["tags"], rent["list"]) == ("2027-01-01", "home, Money", "Inbox")
    assert rent["reminders"] == "P1D@18:00:00 2026-11-30T08:00:00Z"
    assert "'@call mum" in by_title
    assert by_title["'@call mum"]["due"] == "2026-12-24T17:30:00Z"
    assert by_title["'@call mum"]["completed"] == "true"
    assert by_title["Quarterly report"]["list"] == "Work"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), row


def test_export_csv_with_bom(client: TestClient) -> None:
    owner = make_account(client)
    make_task(client, owner, title="Ünïcode")
    content = export(client, owner, format="csv", bom="true").content
    assert content.startswith(b"\xef\xbb\xbfid,list,")
    assert "Ünïcode" in content.decode("utf-8-sig")


def test_export_never_contains_another_users_data(client: TestClient) -> None:
    owner, other = make_account(client), make_account(client)
    make_task(client, owner, title="mine")
    make_task(client, other, title="theirs", tags=["secret"])
    client.post("/api/v1/lists", json={"name": "Their list"}, headers=other.headers)
    for format in ("json", "csv"):
        text = export(client, owner, format=format).text
        assert "mine" in text
        assert "theirs" not in text
        assert "secret" not in text
        assert "Their list" not in text
        assert other.email not in text


def test_export_of_an_empty_account_is_a_valid_document(client: TestClient) -> None:
    owner = make_account(client)
    document = export(client, owner).json()
    jsonschema.validate(document, SCHEMA)
    assert document["tasks"] == []


def test_export_streams_many_pages_in_order(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_account(client)
    for number in range(7):
        make_task(client, owner, title=f"task {number}")
    monkeypatch.setattr(export_service, "PAGE_SIZE", 3)  # three pages: 3 + 3 + 1
    document = export(client, owner).json()
    rows = export(client, owner, format="csv").text.splitlines()
    assert [task["title"] for task in document["tasks"]] == [f"task {n}" for n in range(7)]
    assert len(rows) == 8


def test_export_needs_a_token(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/export"), 401)


def test_an_unknown_format_is_a_422(client: TestClient) -> None:
    owner = make_account(client)
    assert_problem(client.get("/api/v1/export?format=xml", headers=owner.headers), 422)


def test_export_as_icalendar(client: TestClient) -> None:
    """Every live task as a VTODO, read back with a second parser (vobject), as an attachment;
    another user's tasks and the trash stay out."""
    owner, other = make_account(client), make_account(client)
    make_task(client, owner, title="Pay rent", due="2026-12-01", recurrence="FREQ=MONTHLY")
    make_task(client, owner, title="Undated, and; escaped", tags=["home"])
    trashed = make_task(client, owner, title="Trashed")
    assert client.delete(f"/api/v1/tasks/{trashed['id']}", headers=owner.headers).status_code == 204
    make_task(client, other, title="Someone else's")
    response = client.get("/api/v1/export?format=ics", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.ics"')
    calendar = vobject.readOne(response.text)
    todos = {todo.summary.value: todo for todo in calendar.vtodo_list}
    assert set(todos) == {"Pay rent", "Undated, and; escaped"}
    assert todos["Pay rent"].rrule.value == "FREQ=MONTHLY"
    assert todos["Undated, and; escaped"].categories.value == ["home"]

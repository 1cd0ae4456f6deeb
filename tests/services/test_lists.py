"""The Inbox of an account made outside registration, and the process's memory of Inbox ids
(services.lists.inbox_id): never an id of an Inbox that was rolled back."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Connection, delete
from sqlmodel import col

from app.models import TaskList
from app.services import lists as list_service
from tests.factories import Account, assert_problem, make_account, make_task


def _without_inbox(client: TestClient, connection: Connection) -> Account:
    """An account as one made outside registration (a bulk import, say): no lists at all."""
    account = make_account(client)
    connection.execute(delete(TaskList).where(col(TaskList.user_id) == uuid.UUID(account.id)))
    return account


def test_the_first_task_makes_the_inbox(client: TestClient, connection: Connection) -> None:
    account = _without_inbox(client, connection)
    task = make_task(client, account)
    lists = client.get("/api/v1/lists", headers=account.headers).json()
    assert [(x["id"], x["inbox"]) for x in lists] == [(task["list_id"], True)]


def test_an_inbox_rolled_back_with_its_batch_is_not_remembered(
    client: TestClient, connection: Connection
) -> None:
    account = _without_inbox(client, connection)
    failed = client.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "create", "task": {"title": "makes the Inbox"}},
                {"op": "create", "task": {"title": "reads the new Inbox"}},
                {"op": "complete", "id": str(uuid.uuid4())},
            ]
        },
        headers={**account.headers, "Idempotency-Key": "rolled-back"},
    )
    assert_problem(failed, 404)
    assert client.get("/api/v1/lists", headers=account.headers).json() == []
    assert uuid.UUID(account.id) not in list_service._INBOXES
    task = make_task(client, account, title="after the rollback")
    lists = client.get("/api/v1/lists", headers=account.headers).json()
    assert [x["id"] for x in lists] == [task["list_id"]]


def test_a_remembered_inbox_saves_the_keyed_creates_their_read(
    client: TestClient, connection: Connection
) -> None:
    account = make_account(client)
    first = make_task(client, account)
    assert list_service._INBOXES.get(uuid.UUID(account.id)) in (None, uuid.UUID(first["list_id"]))
    keyed = client.post(
        "/api/v1/tasks",
        json={"title": "keyed"},
        headers={**account.headers, "Idempotency-Key": "once"},
    )
    assert keyed.status_code == 201, keyed.text
    assert keyed.json()["list_id"] == first["list_id"]
    assert list_service._INBOXES[uuid.UUID(account.id)] == uuid.UUID(first["list_id"])

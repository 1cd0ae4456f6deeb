"""The tags API: list with counts, rename, delete; isolation as for tasks."""

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, col

from app.models import Tag, TaskTag
from tests.factories import Account, assert_problem, make_account, make_task


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


def _tags(client: TestClient, account: Account) -> dict[str, dict[str, object]]:
    response = client.get("/api/v1/tags", headers=account.headers)
    assert response.status_code == 200
    return {tag["name"]: tag for tag in response.json()}


def _tag_id(client: TestClient, account: Account, name: str) -> str:
    return str(_tags(client, account)[name]["id"])


def test_list_tags_with_open_and_total_counts(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["work", "urgent"])
    make_task(client, owner, tags=["work"], completed=True)
    make_task(client, owner, tags=["Home"])
    make_task(client, owner)
    response = client.get("/api/v1/tags", headers=owner.headers)
    assert response.status_code == 200
    assert [(t["name"], t["open_tasks"], t["total_tasks"]) for t in response.json()] == [
        ("Home", 1, 1),
        ("urgent", 1, 1),
        ("work", 1, 2),
    ]


def test_rename_tag_shows_on_every_task(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, tags=["wrk"])
    tag_id = _tag_id(client, owner, "wrk")
    response = client.patch(
        f"/api/v1/tags/{tag_id}", json={"name": "  Work  "}, headers=owner.headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Work"
    assert response.json()["total_tasks"] == 1
    fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json()
    assert fetched["tags"] == ["Work"]
    # Tasks created later reuse the renamed tag, whatever the case.
    assert make_task(client, owner, tags=["WORK"])["tags"] == ["Work"]


def test_rename_only_changing_case_is_allowed(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["work"])
    tag_id = _tag_id(client, owner, "work")
    response = client.patch(f"/api/v1/tags/{tag_id}", json={"name": "WORK"}, headers=owner.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "WORK"


def test_rename_onto_another_tag_is_409(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["work", "home"])
    home = _tag_id(client, owner, "home")
    response = client.patch(f"/api/v1/tags/{home}", json={"name": "Work"}, headers=owner.headers)
    body = assert_problem(response, 409)
    assert body["type"] == "/problems/tag-name-taken"
    assert set(_tags(client, owner)) == {"home", "work"}


def test_rename_validation(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["work"])
    tag_id = _tag_id(client, owner, "work")
    for body in ({"name": ""}, {"name": "x" * 51}, {}, {"name": "a", "color": "red"}):
        response = client.patch(f"/api/v1/tags/{tag_id}", json=body, headers=owner.headers)
        assert_problem(response, 422)


def test_delete_tag_leaves_tasks(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, tags=["gone", "kept"])
    tag_id = _tag_id(client, owner, "gone")
    response = client.delete(f"/api/v1/tags/{tag_id}", headers=owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    fetched = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    assert fetched.status_code == 200
    assert fetched.json()["tags"] == ["kept"]
    assert set(_tags(client, owner)) == {"kept"}
    assert_problem(client.delete(f"/api/v1/tags/{tag_id}", headers=owner.headers), 404)


def test_another_users_tag_is_404(client: TestClient, owner: Account) -> None:
    make_task(client, owner, tags=["mine"])
    tag_id = _tag_id(client, owner, "mine")
    intruder = make_account(client)
    make_task(client, intruder, tags=["theirs"])
    patched = client.patch(
        f"/api/v1/tags/{tag_id}", json={"name": "stolen"}, headers=intruder.headers
    )
    missing = client.patch(
        f"/api/v1/tags/{uuid.uuid4()}", json={"name": "stolen"}, headers=intruder.headers
    )
    assert_problem(patched, 404)
    assert patched.json()["detail"] == missing.json()["detail"]
    assert_problem(client.delete(f"/api/v1/tags/{tag_id}", headers=intruder.headers), 404)
    assert set(_tags(client, intruder)) == {"theirs"}
    assert set(_tags(client, owner)) == {"mine"}


def test_malformed_tag_id_is_404(client: TestClient, owner: Account) -> None:
    assert_problem(client.delete("/api/v1/tags/not-a-uuid", headers=owner.headers), 404)
    response = client.patch("/api/v1/tags/123", json={"name": "x"}, headers=owner.headers)
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/tags"), ("PATCH", "/api/v1/tags/{id}"), ("DELETE", "/api/v1/tags/{id}")],
)
def test_tags_anonymous_is_401(client: TestClient, owner: Account, method: str, path: str) -> None:
    make_task(client, owner, tags=["t"])
    tag_id = _tag_id(client, owner, "t")
    response = client.request(method, path.format(id=tag_id), json={"name": "x"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_deleting_the_account_deletes_its_tags(
    client: TestClient, owner: Account, session: Session
) -> None:
    make_task(client, owner, tags=["a", "b"])
    user_id = uuid.UUID(owner.id)
    assert len(session.scalars(select(Tag).where(col(Tag.user_id) == user_id)).all()) == 2
    assert client.delete("/api/v1/users/me", headers=owner.headers).status_code == 204
    session.expire_all()
    assert session.scalars(select(Tag).where(col(Tag.user_id) == user_id)).all() == []
    assert session.scalars(select(TaskTag).where(col(TaskTag.user_id) == user_id)).all() == []

"""JSON request bodies are validated strictly on every route: a value must have the JSON type the
contract gives it (no number-to-boolean or string-to-boolean coercion), while query parameters,
always strings on the wire, keep their usual parsing."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.schemas.common import StrictInput
from tests.factories import Account, assert_problem, make_account, make_task

# What a lax validator would read as a boolean.
NOT_BOOLEANS = [0, 1, "true", "false", "yes", "1", 1.0]


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


@pytest.fixture
def task(client: TestClient, owner: Account) -> dict[str, Any]:
    return make_task(client, owner, title="before")


def _routes(owner: Account, task: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route with a `completed` boolean in its body: method, URL, the rest of the body."""
    v1 = f"/api/v1/tasks/{task['id']}"
    compat = f"/api/{owner.id}/tasks"
    return [
        ("POST", "/api/v1/tasks", {"title": "t"}),
        ("PATCH", v1, {}),
        ("PUT", v1, {"title": "t"}),
        ("POST", compat, {"title": "t"}),
        ("PUT", f"{compat}/{task['id']}", {}),
        ("PATCH", f"{compat}/{task['id']}/complete", {}),
    ]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_completed_that_is_not_a_json_boolean_is_422_naming_it(
    client: TestClient, owner: Account, task: dict[str, Any], value: object
) -> None:
    for method, url, body in _routes(owner, task):
        response = client.request(
            method, url, json={**body, "completed": value}, headers=owner.headers
        )
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["body", "completed"], (method, url)
    # Nothing changed on the way.
    read = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json()
    assert read == task


def test_json_booleans_and_enum_names_are_accepted(
    client: TestClient, owner: Account, task: dict[str, Any]
) -> None:
    # Strictness must not refuse the JSON form of a type: a string for an enum.
    for method, url, body in _routes(owner, task):
        response = client.request(
            method, url, json={**body, "completed": True}, headers=owner.headers
        )
        assert response.status_code in (200, 201), (method, url, response.text)
    created = make_task(client, owner, priority="high", due="2026-12-01")
    assert (created["priority"], created["due"]) == ("high", "2026-12-01")


@pytest.mark.parametrize("value", [3, 3.0, True, ["high"]])
def test_priority_that_is_not_a_name_is_422(
    client: TestClient, owner: Account, value: object
) -> None:
    response = client.post(
        "/api/v1/tasks", json={"title": "t", "priority": value}, headers=owner.headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"][:2] == ["body", "priority"]


def test_query_parameters_keep_string_parsing(client: TestClient, owner: Account) -> None:
    make_task(client, owner, completed=True)
    for value in ("true", "1", "yes"):
        page = client.get("/api/v1/tasks", params={"completed": value}, headers=owner.headers)
        assert page.status_code == 200, page.text
        assert [item["completed"] for item in page.json()["items"]] == [True]


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


def test_every_json_body_is_a_strict_input(app: FastAPI) -> None:
    # Read from the served contract, so a body added later cannot quietly bring lax parsing back.
    strict = {
        model.__name__: model
        for model in _subclasses(StrictInput)
        if model.model_config.get("strict") is True
    }
    bodies: dict[str, str] = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            for ref in [schema, *schema.get("anyOf", [])]:
                if "$ref" in ref:
                    bodies[f"{method.upper()} {path}"] = ref["$ref"].rpartition("/")[2]
    assert len(bodies) >= 12, bodies
    lax = {operation: name for operation, name in bodies.items() if name not in strict}
    assert not lax


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [("/api/v1/lists", "name", 100), ("/api/v1/tasks", "title", 255)],
)
def test_a_string_over_its_max_length_is_refused_even_if_trimming_would_fit(
    client: TestClient, path: str, field: str, limit: int
) -> None:
    """The contract's maxLength counts the string as sent (schemathesis found a list name of
    101 characters, a leading NEL among them, accepted once trimmed)."""
    account = make_account(client)
    response = client.post(path, json={field: "\u0085" + "a" * limit}, headers=account.headers)
    assert_problem(response, 422)
    fits = client.post(path, json={field: " " + "a" * (limit - 1)}, headers=account.headers)
    assert fits.status_code == 201, fits.text

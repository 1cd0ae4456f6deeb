"""The OpenAPI document is good enough to generate a client from and to learn the API from.

These checks walk the whole document, so every route added later is held to them too.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.cli import render_openapi

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_openapi())
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def schema_has_example(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = resolve(spec, schema)
    if schema.get("examples") or "example" in schema:
        return True
    if schema.get("type") == "array":
        # UIs and generators build an array example from its items' example.
        return schema_has_example(spec, schema.get("items", {}))
    # An optional body (`Model | None`): the model's example is the example.
    members = [
        m for m in schema.get("anyOf", []) + schema.get("oneOf", []) if m != {"type": "null"}
    ]
    return bool(members) and all(schema_has_example(spec, m) for m in members)


def has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    return schema_has_example(spec, media.get("schema", {}))


def test_operation_ids_are_unique_camel_case(spec: dict[str, Any]) -> None:
    ids = [operation.get("operationId", "") for _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert CAMEL_CASE.match(op_id), op_id


def test_every_operation_has_summary_description_and_a_described_tag(
    spec: dict[str, Any],
) -> None:
    tag_descriptions = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert all(tag_descriptions.values()), tag_descriptions
    for name, operation in operations(spec):
        assert operation.get("summary", "").strip(), f"{name} has no summary"
        description = operation.get("description", "").strip()
        assert description, f"{name} has no description (give the handler a docstring)"
        assert description != operation["summary"], f"{name}: description repeats summary"
        assert operation.get("tags"), f"{name} has no tag"
        for tag in operation["tags"]:
            assert tag in tag_descriptions, f"{name}: tag {tag!r} is not declared in TAGS"


def test_every_request_body_has_an_example(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        for media_type, media in body["content"].items():
            assert has_example(spec, media), f"{name} {media_type} request has no example"


def test_every_success_response_body_has_an_example(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            assert response.get("description"), f"{name} {status} has no description"
            for media_type, media in response.get("content", {}).items():
                assert has_example(spec, media), f"{name} {status} {media_type} has no example"


def test_every_error_response_is_a_problem_document(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        for status, response in errors.items():
            content = response.get("content", {})
            assert list(content) == ["application/problem+json"], f"{name} {status}: {content}"
            media = content["application/problem+json"]
            assert media["schema"] == {"$ref": PROBLEM_REF}, f"{name} {status}"
            assert media["example"]["status"] == int(status), f"{name} {status}"
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_protected_operations_declare_bearer_security_and_401(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["BearerAuth"]["description"],
    }
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == (
        "/api/v1/auth/token"
    )
    for name, operation in operations(spec):
        path = name.split(" ", 1)[1]
        if path.startswith("/api/v1/tasks") or path.startswith("/api/v1/users"):
            # With the operation's scope (tests/test_scopes.py), or none for logins only.
            assert any("BearerAuth" in r for r in operation.get("security", [])), name
        if operation.get("security"):
            assert "401" in operation["responses"], f"{name} is protected but omits 401"


def test_rate_limited_and_database_backed_operations_declare_429_and_503(
    spec: dict[str, Any],
) -> None:
    # Every authenticated request counts against the per-user limit, and every API route
    # reads the database (the tag and Hackathon II routes once left these out).
    for name, operation in operations(spec):
        if operation.get("security"):
            assert "429" in operation["responses"], f"{name} is rate limited but omits 429"
        if name.split(" ", 1)[1].startswith("/api/"):
            assert "503" in operation["responses"], f"{name} uses the database but omits 503"


def test_servers_are_declared(spec: dict[str, Any]) -> None:
    assert spec["servers"][0]["url"] == "/"
    assert all(server.get("description") for server in spec["servers"])

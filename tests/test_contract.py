"""The checked-in OpenAPI contract is exactly what the app serves."""

import json
from pathlib import Path

from fastapi.testclient import TestClient

from app.cli import DEFAULT_CONTRACT, render_openapi

CONTRACTS = sorted(Path(__file__).resolve().parents[1].glob("specs/*/contracts/openapi.json"))


def test_contract_file_exists() -> None:
    assert DEFAULT_CONTRACT in CONTRACTS


def test_contract_has_not_drifted(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    checked_in = json.loads(DEFAULT_CONTRACT.read_text())
    assert served == checked_in, "run `make openapi` and commit the result"
    assert render_openapi() == DEFAULT_CONTRACT.read_text()


def test_operation_ids_are_clean(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all("_" not in op_id and "api_v1" not in op_id for op_id in ids)
    assert {"listTasks", "createTask", "getTask", "updateTask", "deleteTask"} <= set(ids)


def test_patch_fields_that_cannot_be_null_are_not_nullable_in_the_contract() -> None:
    from app.schemas.task import TaskUpdate

    properties = TaskUpdate.model_json_schema()["properties"]
    assert properties["title"]["type"] == "string"
    assert properties["completed"]["type"] == "boolean"
    assert {"type": "null"} in properties["description"]["anyOf"]

"""`tasks-api export --user EMAIL`: the operators' export, the same document as the API's."""

import csv
import io
import json
from pathlib import Path

import jsonschema
from sqlmodel import Session

from app.core.config import Settings
from app.database import bind_session_to_user, create_db_engine
from app.schemas.task import CompatTaskCreate
from app.services import tasks as task_service
from app.services import users as user_service
from tests.live import PROJECT_ROOT, run_cli
from tests.test_cli import env, fresh_db, migrated_env  # noqa: F401 - fixtures

SCHEMA = json.loads(
    (PROJECT_ROOT / "specs/2-backend-api/contracts/export-v1.schema.json").read_text()
)


def _add_tasks(database_url: str, email: str, titles: list[str]) -> None:
    engine = create_db_engine(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        with Session(engine) as session:
            user = user_service.get_user_by_email(session=session, email=email)
            assert user is not None
            bind_session_to_user(session, user.id)
            for title in titles:
                task_service.create_task(
                    session=session, user_id=user.id, task_in=CompatTaskCreate(title=title)
                )
    finally:
        engine.dispose()


def test_export_command_writes_the_account(
    migrated_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    environment = migrated_env
    for email in ("ada@example.com", "bob@example.com"):
        created = run_cli(
            "users", "create", "--email", email, "--password-stdin",
            env=environment, cwd=tmp_path, stdin="correct horse battery\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    _add_tasks(environment["DATABASE_URL"], "ada@example.com", ["first", "=1+1"])
    _add_tasks(environment["DATABASE_URL"], "bob@example.com", ["not ada's"])

    result = run_cli("export", "--user", "ada@example.com", env=environment, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["profile"]["email"] == "ada@example.com"
    assert [task["title"] for task in document["tasks"]] == ["first", "=1+1"]

    target = tmp_path / "ada.csv"
    result = run_cli(
        "export", "--user", "ada@example.com", "--format", "csv", "--bom", "--output", str(target),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"bytes to {target}" in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert [row["title"] for row in rows] == ["first", "'=1+1"]


def test_export_command_unknown_user(migrated_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    result = run_cli("export", "--user", "nobody@example.com", env=migrated_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no account with the email nobody@example.com" in result.stderr

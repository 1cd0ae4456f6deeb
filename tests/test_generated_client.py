"""A typed client generated from the checked-in contract by a third-party generator
(openapi-python-client) type-checks and runs the getting-started walkthrough against a live
server."""

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app.cli import DEFAULT_CONTRACT
from tests.live import LiveServer

PACKAGE = "tasks_api_client"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("client")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(DEFAULT_CONTRACT),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            # Any construct the generator cannot express is a failure, not a silent gap.
            "--fail-on-warning",
        ],
        env=env,
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_client_type_checks(generated: Path) -> None:
    # The operations and models come from our contract; client.py is the generator's own
    # template, so it is followed silently.
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
            "--no-incremental", "--cache-dir", os.devnull,
            f"{PACKAGE}/api", f"{PACKAGE}/models",
        ],
        cwd=generated, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_client_runs_the_walkthrough(generated: Path, live_server: LiveServer) -> None:
    client_mod = load("client")
    models: Any = load("models")
    anonymous = client_mod.Client(base_url=live_server.base_url, raise_on_unexpected_status=True)
    with anonymous:
        walkthrough(models, anonymous, client_mod, live_server)


def walkthrough(models: Any, anonymous: Any, client_mod: Any, live_server: LiveServer) -> None:
    register, login = load("api.auth.register"), load("api.auth.login")
    email = f"codegen-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery"

    user = register.sync(
        client=anonymous, body=models.UserCreate(email=email, password=password, name="Gen")
    )
    assert isinstance(user, models.UserPublic)
    assert user.email == email

    tokens = login.sync(client=anonymous, body=models.BodyLogin(username=email, password=password))
    assert isinstance(tokens, models.TokenPair)
    with client_mod.AuthenticatedClient(
        base_url=live_server.base_url, token=tokens.access_token, raise_on_unexpected_status=True
    ) as authed:
        task_steps(models, authed)

    bad_login = login.sync(
        client=anonymous, body=models.BodyLogin(username=email, password="wrong password")
    )
    assert isinstance(bad_login, models.Problem)
    assert bad_login.status == 401


def task_steps(models: Any, authed: Any) -> None:
    create_task, list_tasks = load("api.tasks.create_task"), load("api.tasks.list_tasks")
    complete_task, delete_task = load("api.tasks.complete_task"), load("api.tasks.delete_task")
    get_task = load("api.tasks.get_task")

    task = create_task.sync(
        client=authed,
        body=models.TaskCreate(title="Send the invoice", description="PDF to accounts"),
    )
    assert isinstance(task, models.TaskPublic)
    assert task.completed is False

    page = list_tasks.sync(client=authed, limit=10)
    assert isinstance(page, models.TaskPage)
    assert [item.id for item in page.items] == [task.id]
    assert page.next_cursor is None

    done = complete_task.sync(client=authed, task_id=str(task.id))
    assert isinstance(done, models.TaskPublic)
    assert done.completed is True
    assert done.completed_at is not None

    deleted = delete_task.sync_detailed(client=authed, task_id=str(task.id))
    assert deleted.status_code == 204

    # Errors come back typed as the Problem model.
    missing = get_task.sync(client=authed, task_id=str(task.id))
    assert isinstance(missing, models.Problem)
    assert missing.status == 404

"""`tasks-api` commands, run as subprocesses against a fresh SQLite file and PostgreSQL database."""

from pathlib import Path

import jwt
import pytest

from app import migrate
from app.cli import main
from tests.conftest import ThrowawayPostgres, fresh_database_url
from tests.live import SECRET_KEY, run_cli, server_env

COMMANDS = [
    [],
    ["serve"],
    ["migrate"],
    ["openapi"],
    ["users"],
    ["users", "create"],
    ["users", "list"],
    ["token"],
    ["check"],
    ["worker"],
    ["purge"],
    ["export"],
]


@pytest.fixture
def fresh_db(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """An empty database (no migrations applied) of the parametrized kind."""
    pg: ThrowawayPostgres | None = (
        request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    )
    return fresh_database_url(backend, tmp_path_factory, pg)


@pytest.fixture
def env(fresh_db: str, tmp_path: Path) -> dict[str, str]:
    return server_env(tmp_path, fresh_db)


@pytest.fixture
def migrated_env(env: dict[str, str]) -> dict[str, str]:
    # In-process: the `migrate` command itself is exercised in its own tests.
    migrate.upgrade(env["DATABASE_URL"])
    return env


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Parsing only, so in-process: no need to pay for a subprocess per command.
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tasks-api {' '.join(command)}".rstrip())
    assert "show this help message and exit" in out


def test_check_reports_unmigrated_then_ready(env: dict[str, str], tmp_path: Path) -> None:
    before = run_cli("check", env=env, cwd=tmp_path)
    assert before.returncode == 1
    assert "[  ok] database     reachable" in before.stdout
    assert "[FAIL] migrations   at none, head is" in before.stdout
    assert "NOT ready" in before.stdout

    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0

    after = run_cli("check", env=env, cwd=tmp_path)
    assert after.returncode == 0, after.stdout
    assert "[  ok] migrations   at head" in after.stdout
    assert "[  ok] overall      ready to serve" in after.stdout
    assert "[  ok] environment  development" in after.stdout
    # The secret itself never appears, only that it is set.
    assert SECRET_KEY not in after.stdout
    assert "[  ok] secret key   set (" in after.stdout


def test_check_hides_database_password(tmp_path: Path) -> None:
    env = server_env(tmp_path, "postgresql://app:hunter2-secret@127.0.0.1:1/nowhere")
    env["DB_CONNECT_TIMEOUT_SECONDS"] = "1"
    result = run_cli("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "postgresql+psycopg2://app:***@127.0.0.1:1/nowhere" in result.stdout
    assert "[FAIL] database     unreachable" in result.stdout


def test_check_reports_invalid_configuration(tmp_path: Path) -> None:
    env = server_env(tmp_path, "sqlite://")
    env.update(ENVIRONMENT="production", SECRET_KEY="short")
    result = run_cli("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "invalid configuration" in result.stderr
    assert "SECRET_KEY must be at least 32 bytes" in result.stderr


def test_migrate_downgrade_and_revision(env: dict[str, str], tmp_path: Path) -> None:
    head = migrate.head_revision()
    assert run_cli("migrate", "--revision", "0001", env=env, cwd=tmp_path).returncode == 0
    partial = run_cli("check", env=env, cwd=tmp_path).stdout
    assert f"at 0001, head is {head}" in partial or head == "0001"
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    assert f"at head {head}" in run_cli("check", env=env, cwd=tmp_path).stdout
    down = run_cli("migrate", "downgrade", "--revision", "base", env=env, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "at none" in run_cli("check", env=env, cwd=tmp_path).stdout
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0


def test_users_create_list_and_token(migrated_env: dict[str, str], tmp_path: Path) -> None:
    env = migrated_env
    created = run_cli(
        "users", "create", "--email", "Ada@Example.com", "--name", "Ada", "--password-stdin",
        env=env, cwd=tmp_path, stdin="correct horse battery\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user ")
    assert "<ada@example.com>" in created.stdout

    duplicate = run_cli(
        "users", "create", "--email", "ada@example.com", "--password-stdin",
        env=env, cwd=tmp_path, stdin="another password\n",
    )  # fmt: skip
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr

    short = run_cli(
        "users", "create", "--email", "bob@example.com", "--password-stdin",
        env=env, cwd=tmp_path, stdin="short\n",
    )  # fmt: skip
    assert short.returncode == 1
    assert "8 to 128 characters" in short.stderr

    listing = run_cli("users", "list", env=env, cwd=tmp_path)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "NAME", "CREATED"]
    assert "ada@example.com  Ada" in lines[1]
    assert lines[-1] == "(1 user)"
    assert "bob@example.com" not in listing.stdout

    token = run_cli("token", "--email", "ADA@example.com", "--minutes", "5", env=env, cwd=tmp_path)
    assert token.returncode == 0, token.stderr
    claims = jwt.decode(
        token.stdout.strip(),
        SECRET_KEY,
        algorithms=["HS256"],
        audience="tasks-api",
        issuer="tasks-api",
    )
    assert claims["sub"] == lines[1].split()[0]
    assert claims["exp"] - claims["iat"] == 300


def test_users_create_without_terminal_asks_for_password_stdin(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("users", "create", "--email", "x@example.com", env=env, cwd=tmp_path, stdin="")
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr


def test_token_unknown_user(migrated_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("token", "--email", "nobody@example.com", env=migrated_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no account with the email nobody@example.com" in result.stderr
    assert result.stdout == ""


def test_token_refused_in_production(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "ENVIRONMENT": "production"}
    result = run_cli("token", "--email", "ada@example.com", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "refusing to mint tokens when ENVIRONMENT=production" in result.stderr
    assert result.stdout == ""

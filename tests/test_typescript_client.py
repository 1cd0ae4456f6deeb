"""The TypeScript client of the SPA guide (clients/typescript) is generated from the committed
contract, compiles with `tsc --strict`, and works against a live server on both databases; and
the guide's reason for `--default-non-nullable false` still holds.

The pinned packages are installed with `npm ci` only when package-lock.json changed since the
last install (the stamp is the one `make install` writes), so a run normally reuses them.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import postgres_required
from tests.live import PROJECT_ROOT, LiveServer

CLIENT = PROJECT_ROOT / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"
STAMP = CLIENT / "node_modules" / ".installed"
CONTRACT = PROJECT_ROOT / "specs" / "2-backend-api" / "contracts" / "openapi.json"


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def npm() -> str:
    path = shutil.which("npm")
    if path is None:
        reason = "npm is not installed (apt-get install npm)"
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 requires the TypeScript check: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def client_package() -> Path:
    """clients/typescript with its packages installed and src/schema.d.ts generated."""
    command = npm()
    lock = CLIENT / "package-lock.json"
    if not STAMP.exists() or STAMP.stat().st_mtime < lock.stat().st_mtime:
        installed = run([command, "ci", "--no-audit", "--no-fund", "--loglevel=error"], CLIENT)
        assert installed.returncode == 0, installed.stderr
        STAMP.touch()
    generated = run([command, "run", "generate"], CLIENT)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return CLIENT


@pytest.fixture(scope="session")
def built_client(client_package: Path) -> Path:
    """The client compiled to JavaScript (dist/, beside its node_modules), once."""
    built = run([npm(), "run", "build"], client_package)
    assert built.returncode == 0, built.stdout + built.stderr
    return client_package / "dist"


def test_client_compiles_with_tsc_strict(client_package: Path) -> None:
    result = run([npm(), "run", "check"], client_package)  # tsc --strict --noEmit
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_client_works_against_a_live_server(
    built_client: Path, database: str, request: pytest.FixtureRequest
) -> None:
    server: LiveServer = request.getfixturevalue(f"docs_server_{database}")
    result = run(["node", str(built_client / "run.js"), server.base_url], CLIENT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: created, listed, completed and deleted")


def test_without_the_flag_fields_with_defaults_become_required(
    client_package: Path, tmp_path: Path
) -> None:
    """Why the guide passes --default-non-nullable false: without it, the same code fails."""
    shutil.copytree(client_package / "src", tmp_path / "src", ignore=lambda *_: ["schema.d.ts"])
    shutil.copy(client_package / "tsconfig.json", tmp_path)
    (tmp_path / "node_modules").symlink_to(client_package / "node_modules")
    generated = run(
        [str(BIN / "openapi-typescript"), str(CONTRACT), "-o", "src/schema.d.ts"], tmp_path
    )
    assert generated.returncode == 0, generated.stderr
    result = run([str(BIN / "tsc"), "--strict", "--noEmit", "-p", "."], tmp_path)
    assert result.returncode != 0
    assert "missing the following properties" in result.stdout
    assert "completed, priority" in result.stdout
    # ...and so do the login form's optional fields.
    assert "grant_type, scope" in result.stdout

"""The import rules of docs/contributing/architecture.md hold (import-linter contracts in
pyproject.toml), and the pre-commit configuration is one pre-commit accepts."""

import subprocess
import sys
from pathlib import Path

import yaml

from tests.live import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_import_contracts_are_kept() -> None:
    result = run(str(VENV_BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_pre_commit_config_is_valid_and_uses_the_venv_tools() -> None:
    config = PROJECT_ROOT / ".pre-commit-config.yaml"
    result = run(str(VENV_BIN / "pre-commit"), "validate-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = [hook for repo in yaml.safe_load(config.read_text())["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {"ruff-check", "ruff-format", "mypy"}
    for hook in hooks:
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), tool
        assert (VENV_BIN / Path(tool).name).is_file(), tool

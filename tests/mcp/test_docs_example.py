"""The Python example of docs/guides/mcp.md (docs/examples/mcp_client.py, which the page
includes) runs as written against a live server, on SQLite and PostgreSQL."""

import subprocess
import sys

from tests.live import PROJECT_ROOT, LiveServer
from tests.mcp.conftest import new_account

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "mcp_client.py"
PAGE = PROJECT_ROOT / "docs" / "guides" / "mcp.md"


def test_the_page_includes_the_example() -> None:
    assert '--8<-- "docs/examples/mcp_client.py"' in PAGE.read_text()


def test_the_python_example_adds_and_lists_tasks(mcp_server: LiveServer) -> None:
    account = new_account(mcp_server)
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env={
            **mcp_server.env,
            "TASKS_API_URL": mcp_server.base_url,
            "TASKS_API_TOKEN": account.access_token,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("added ")
    assert lines[1] == "- [high] Call the plumber (due 2030-01-15)"
    assert lines[2] == "error: Not Found (404): Task not found."
    assert "Traceback" not in result.stderr

"""Every shell example in the docs site and in README.md runs, as written, against a live
server on SQLite and on PostgreSQL, so no page can rot.

A ```bash block is an example that runs: it calls `curl`, `http` (HTTPie) or `tasks-api`, and
runs on its own in `bash -euo pipefail` with http://127.0.0.1:8000 replaced by the test server's
address, `.venv/bin/` by this venv, the venv on PATH and the server's environment (so
`tasks-api` reaches the same database and mints tokens the server accepts). Commands that must
not run here (they start a server, need a cloud database) go in ```sh blocks instead.

One server per database serves the whole session (`docs_server_sqlite` and
`docs_server_postgresql` in tests/conftest.py). The blocks share its data, so each one makes the
accounts it needs and tolerates finding them already there.
"""

import os
import pty
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import PROJECT_ROOT, LiveServer

DOCS = PROJECT_ROOT / "docs"
SOURCES = [PROJECT_ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
DOCS_BASE_URL = "http://127.0.0.1:8000"
# Fenced blocks, also indented ones (inside admonitions and content tabs).
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<language>\w*)[^\n]*\n(?P<code>.*?)^(?P=indent)```",
    re.DOTALL | re.MULTILINE,
)
RUNS_SOMETHING = re.compile(r"(^|[\s($|])(curl|http|\S*tasks-api)\s", re.MULTILINE)
SERVER_ERROR = re.compile(r'"status":\s*5\d\d')


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(PROJECT_ROOT)}:{self.line}"


def code_blocks() -> list[Block]:
    blocks = []
    for path in SOURCES:
        text = path.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            code = textwrap.dedent(match["code"]) if match["indent"] else match["code"]
            blocks.append(Block(path, line, match["language"], code))
    return blocks


def examples() -> list[Block]:
    return [block for block in code_blocks() if block.language == "bash"]


def test_every_bash_block_is_an_example_that_runs() -> None:
    idle = [block.where for block in examples() if not RUNS_SOMETHING.search(block.code)]
    assert idle == [], f"```bash blocks run as tests; use ```sh for these: {idle}"


def test_docs_show_curl_and_httpie() -> None:
    blocks = [block.code for block in examples()]
    assert len(blocks) >= 10
    assert any("curl " in code for code in blocks)
    assert any(re.search(r"^\s*http ", code, re.MULTILINE) for code in blocks)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("block", examples(), ids=lambda block: block.where)
def test_example_runs(
    block: Block, database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server: LiveServer = request.getfixturevalue(f"docs_server_{database}")
    venv_bin = Path(sys.executable).parent
    script = block.code.replace(DOCS_BASE_URL, server.base_url).replace(
        ".venv/bin/", f"{venv_bin}/"
    )
    env = {
        **server.env,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),  # httpie keeps its config under $HOME
    }
    # httpie reads a request body from stdin unless stdin is a terminal; give it one, as a
    # person typing the example would have.
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=env,
            cwd=server.log_path.parent,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.where} failed on {database}:\n{output}"
    assert not SERVER_ERROR.search(output), f"{block.where} hit a server error:\n{output}"
    assert "Traceback" not in output

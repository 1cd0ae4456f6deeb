"""Every shell example in README.md that calls curl or httpie runs, as written, against a live
server, so the README cannot rot.

Each ```bash block mentioning `curl` or `http` runs on its own in `bash -euo pipefail`, with
http://127.0.0.1:8000 replaced by the test server's address, the venv's `http` and
`tasks-api` on PATH and the server's environment (so `tasks-api token` mints tokens it
accepts). A block must therefore be self-contained.
"""

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import PROJECT_ROOT, LiveServer

README = PROJECT_ROOT / "README.md"
README_BASE_URL = "http://127.0.0.1:8000"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
CALLS_HTTP = re.compile(r"(^|[\s($|])(curl|http)\s", re.MULTILINE)
SERVER_ERROR = re.compile(r'"status":\s*5\d\d')


def http_blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        if CALLS_HTTP.search(match.group(1)):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((line, match.group(1)))
    return blocks


def test_readme_has_curl_and_httpie_examples() -> None:
    blocks = [code for _, code in http_blocks()]
    assert any("curl " in code for code in blocks)
    assert any(re.search(r"^\s*http ", code, re.MULTILINE) for code in blocks)


@pytest.mark.parametrize(
    ("line", "code"), http_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_readme_example_runs(line: int, code: str, live_server: LiveServer, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    script = code.replace(README_BASE_URL, live_server.base_url).replace(
        ".venv/bin/", f"{venv_bin}/"
    )
    env = {
        **live_server.env,
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
            cwd=tmp_path,
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
    assert result.returncode == 0, f"README.md line {line} failed:\n{output}"
    assert not SERVER_ERROR.search(output), f"README.md line {line} hit a server error:\n{output}"
    assert "Traceback" not in output

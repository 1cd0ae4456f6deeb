"""A real `tasks-api serve` process for tests that need the whole stack over HTTP.

Browser, docs-example, generated-client and metrics tests talk to the server exactly as a user
would: a separate process, a real port on 127.0.0.1, its own temporary database.

    with start_server(tmp_path, env={"METRICS_TOKEN": "x"}) as server:
        httpx2.get(f"{server.base_url}/healthz")

The session-wide `live_server` fixture in tests/conftest.py wraps this; start your own with
`start_server` when a test needs different settings.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TASKS_API = Path(sys.executable).with_name("tasks-api")
SECRET_KEY = "live-server-secret-key-0123456789abcdef0123456789"
METRICS_TOKEN = "live-metrics-token"
STARTUP_SECONDS = 30.0


@dataclass
class LiveServer:
    base_url: str
    port: int
    database_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(
    tmp_dir: Path, database_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a `tasks-api` subprocess: nothing inherited that could change it
    (but PYTHONPATH: a git worktree runs its own code with it)."""
    env = {
        key: value
        for key, value in os.environ.items()
        # PYTHONPATH: a worktree run with its own code first serves that code, not the
        # editable install's.
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONPATH"}
    }
    env.update(
        {
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "SECRET_KEY_FILE": str(tmp_dir / "secret_key"),
            # Cheap hashing keeps the tests quick; the code path is the real one.
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "ARGON2_PARALLELISM": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `tasks-api ARGS...` with `stdin` as its input (never a terminal); capture output."""
    return subprocess.run(
        [str(TASKS_API), *args],
        env=dict(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def start_server(
    tmp_dir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
) -> Iterator[LiveServer]:
    """Start `tasks-api serve` on a free port, wait until /healthz answers, stop it after."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{tmp_dir / 'tasks.db'}"
    full_env = server_env(tmp_dir, database_url, env)
    port = free_port()
    log_path = tmp_dir / "server.log"
    with log_path.open("wb") as log:
        # cwd is the temp dir so a developer's .env is never read.
        process = subprocess.Popen(
            [
                str(TASKS_API),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=full_env,
            cwd=tmp_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        database_url=database_url,
        env=full_env,
        log_path=log_path,
        process=process,
    )
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"tasks-api serve exited early:\n{server.log_text()}")
        try:
            if httpx2.get(server.url("/healthz"), timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"tasks-api serve did not answer in {STARTUP_SECONDS}s:\n{server.log_text()}"
    )

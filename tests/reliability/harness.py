"""Real processes for the fault tests: a throwaway PostgreSQL cluster and a `tasks-api serve`.

The cluster is initdb'd into a temporary folder and runs on its own free port, so a test may
stop, restart or lock it without touching the shared server on 5432. Everything listens on
127.0.0.1 only and is stopped and deleted afterwards.
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import Engine, create_engine, text

SECRET_KEY = "reliability-tests-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"
TASKS_API = Path(sys.executable).with_name("tasks-api")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_bindir() -> Path | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


class PostgresCluster:
    """initdb + pg_ctl in a temp folder; run as the `postgres` OS user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tasks-api-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self.socket_dir.mkdir()
        if self._as_postgres:
            # initdb refuses to run as root; the cluster belongs to the postgres OS user.
            self.root.chmod(0o755)
            for folder in (self.root, self.socket_dir):
                shutil.chown(folder, user="postgres", group="postgres")
        self._run(
            "initdb",
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            *("--no-sync", "--no-instructions"),
        )

    def _command(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        return ["runuser", "-u", "postgres", "--", *argv] if self._as_postgres else argv

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}\n{result.stderr}\n{self.logs()}")

    def logs(self) -> str:
        try:
            return self.log.read_text()[-4000:]
        except OSError:
            return ""

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.socket_dir} "
            "-c fsync=off -c max_connections=60"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def admin_engine(self) -> Engine:
        return create_engine(self.url(), isolation_level="AUTOCOMMIT", pool_size=1)

    def create_database(self, name: str) -> str:
        engine = self.admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ApiServer:
    """`tasks-api serve` in a child process on a free port of 127.0.0.1."""

    def __init__(self, workdir: Path, database_url: str, **settings: Any) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "DB_", "SECRET_", "ENVIRONMENT"))
        }
        env.update(
            {
                "ENVIRONMENT": "production",
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": database_url,
                # Cheap hashing keeps the tests about the database, not about Argon2.
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_COST": "1024",
                "ARGON2_PARALLELISM": "1",
                # The load here is deliberate; rate limits have their own tests.
                "RATE_LIMIT_ENABLED": "false",
            }
        )
        env.update({key.upper(): str(value) for key, value in settings.items()})
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        # cwd is a temp folder so no developer `.env` leaks into the server's settings.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(TASKS_API), "serve", "--port", str(self.port), "--log-level", "warning"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.logs()}")
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up:\n{self.logs()}")

    def logs(self) -> str:
        try:
            return self.log_path.read_text()[-6000:]
        except OSError:
            return ""

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self, **kwargs: Any) -> httpx2.Client:
        kwargs.setdefault("timeout", 15)
        return httpx2.Client(base_url=self.base_url, **kwargs)


def sign_up(client: httpx2.Client, email: str) -> dict[str, str]:
    """Register and log in; the Authorization header for the new account."""
    created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@contextlib.contextmanager
def running(server: ApiServer) -> Iterator[ApiServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()

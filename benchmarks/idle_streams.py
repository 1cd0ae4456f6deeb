"""Memory and CPU of idle event streams: `python -m benchmarks.idle_streams [--streams 1000]`.

Starts `tasks-api serve` (one worker) on SQLite, or on a throwaway PostgreSQL database with
`--postgresql`, opens N streams to GET /api/v1/events for one account (asyncio sockets, so
the client stays small), waits, and prints the server's resident memory (VmRSS) before and
after, per stream, and the server's CPU while the streams sit idle (heartbeats and session
checks only). Issue 18 asks for at most 100 MB extra for 1,000 idle streams on one worker.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx2
from sqlalchemy import create_engine, text
from tests.live import start_server

from app import migrate

PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway account


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    raise LookupError(field)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100


async def _open(port: int, token: str, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    request = (
        f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"stream refused: {head.decode(errors='replace')}")
        writers.append(writer)
    return writers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args(argv)
    env = {
        "RATE_LIMIT_ENABLED": "false",
        "EVENTS_MAX_STREAMS_PER_USER": "1000",
        "EVENTS_MAX_STREAMS": str(max(2000, args.streams)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        url = None
        admin = None
        name = f"tasks_api_bench_streams_{int(time.time())}"
        if args.postgresql:
            admin = create_engine(
                "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = f"postgresql://postgres@127.0.0.1:5432/{name}"
            migrate.upgrade(url)
        try:
            with start_server(Path(tmp), database_url=url, env=env) as server:
                with httpx2.Client(base_url=server.base_url) as client:
                    email = "streams@example.com"
                    client.post(
                        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
                    )
                    login = client.post(
                        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
                    )
                    token = login.json()["access_token"]
                    # One stream first, so what every stream shares is loaded before "before".
                    asyncio.run(_warm(server.port, token))
                pid = server.process.pid
                before = _status(pid, "VmRSS")

                async def hold() -> tuple[int, float, float]:
                    writers = await _open(server.port, token, args.streams)
                    await asyncio.sleep(2)
                    after = _status(pid, "VmRSS")
                    cpu = _cpu_seconds(pid)
                    await asyncio.sleep(args.idle_seconds)
                    idle_cpu = _cpu_seconds(pid) - cpu
                    for writer in writers:
                        writer.close()
                    return after, idle_cpu, args.idle_seconds

                after, idle_cpu, seconds = asyncio.run(hold())
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    extra = (after - before) / 1024
    database = "postgresql" if args.postgresql else "sqlite"
    print(f"{database}: {args.streams} idle streams")
    print(f"  RSS before {before / 1024:.1f} MB, after {after / 1024:.1f} MB: +{extra:.1f} MB")
    print(f"  per stream {(after - before) / args.streams:.1f} kB")
    print(f"  server CPU while idle: {idle_cpu / seconds * 100:.1f}% of a core")
    return 0


async def _warm(port: int, token: str) -> None:
    writers = await _open(port, token, 1)
    await asyncio.sleep(0.5)
    for writer in writers:
        writer.close()


if __name__ == "__main__":
    raise SystemExit(main())

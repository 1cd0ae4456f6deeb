"""`make bench`: seed a throwaway database, serve the API like production, load it with wrk.

    python -m benchmarks.run --profile quick|sqlite|full [--workers N]

Steps: create a dedicated database (never a developer's), migrate it with Alembic, seed users
and tasks in bulk with SQL, mint access tokens for many distinct users, start
`tasks-api serve` (no reload) and the one-query floor app (benchmarks/floor_app.py), then run
each scenario with wrk (a separate process, Lua in benchmarks/wrk/) after a warm-up. The
listing scenarios run after each seeding stage (10k, 100k, 1M tasks in the full profile); the
floors run before and after the scenarios at every connection count, so their numbers come
from the same minutes as the scenarios'. Results go to benchmarks/results/<date>-<profile>.*
(JSON, Markdown, PNG); the database is dropped at the end.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from app.core.config import Settings
from app.core.security import create_access_token
from app.database import normalize_database_url
from benchmarks import report, seed

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "benchmarks" / "wrk" / "scenario.lua"
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
SECRET = "benchmark-secret-key-not-used-anywhere-else-0123456789"  # noqa: S105 - throwaway
API_PORT = 18700
FLOOR_PORT = 18701
WRK_THREADS = 2
# Consumed pools (complete, delete) are sliced per wrk run at this many requests per second.
MAX_RPS = 5000


@dataclass(frozen=True)
class Profile:
    database: str  # "postgresql" or "sqlite"
    users: int
    stages: tuple[int, ...]  # total tasks after each seeding stage
    per_user: int
    heavy_users: int
    heavy_tasks: int
    duration: int
    warmup: int
    connections: tuple[int, ...]
    reads: int  # size of the random read/patch pool


PROFILES = {
    "quick": Profile("postgresql", 300, (2_000, 20_000), 100, 1, 5_000, 2, 1, (8, 32), 2_000),
    "sqlite": Profile("sqlite", 2_000, (10_000, 100_000), 100, 2, 10_000, 8, 2, (8, 32), 10_000),
    "full": Profile(
        "postgresql", 10_000, (10_000, 100_000, 1_000_000), 100, 4, 50_000, 10, 3, (8, 32), 20_000
    ),
}


@dataclass
class Run:
    scenario: str
    kind: str  # "floor" or "scenario"
    tasks: int
    connections: int
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    extra: dict[str, Any] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


# --- database ---------------------------------------------------------------------------


@contextmanager
def bench_database(profile: Profile, workdir: Path) -> Iterator[tuple[str, str]]:
    """A database made for this run and dropped after it: (owner URL, API URL).

    On PostgreSQL the API connects as an ordinary role made for the run (as
    docs/guides/postgresql.md says production should), so row-level security applies and its
    cost is measured; the owner migrates, seeds and serves the floor app.
    """
    if profile.database == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        yield url, url
        return
    admin_url = normalize_database_url(
        os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"tasks_api_bench_{uuid.uuid4().hex[:10]}"
    role = f"{name}_app"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
    owner = make_url(admin_url).set(database=name)
    try:
        yield (
            owner.render_as_string(hide_password=False),
            owner.set(username=role, password=None).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def grant_app_role(engine: Engine, app_url: str) -> None:
    role = make_url(app_url).username
    if engine.dialect.name != "postgresql" or role == engine.url.username:
        return
    with engine.begin() as conn:
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        )


def stage_blocks(profile: Profile) -> list[list[seed.Block]]:
    """Per stage, the task blocks to add: whole users of `per_user` tasks; heavy users last."""
    stages: list[list[seed.Block]] = []
    done_users = 0
    for number, total in enumerate(profile.stages):
        last = number == len(profile.stages) - 1
        normal_total = total - (profile.heavy_users * profile.heavy_tasks if last else 0)
        users = normal_total // profile.per_user
        blocks = [seed.Block(done_users, users, profile.per_user)]
        if last and profile.heavy_users:
            first_heavy = profile.users - profile.heavy_users
            blocks.append(seed.Block(first_heavy, profile.users, profile.heavy_tasks))
        if users + profile.heavy_users > profile.users:
            raise ValueError("profile has too few users for its stages")
        stages.append(blocks)
        done_users = users
    return stages


def sample_tasks(engine: Engine, limit: int) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    order = "random()"
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT user_id, id, completed FROM tasks ORDER BY {order} LIMIT :n"),
            {"n": limit},
        )
        return [(_uuid(r[0]), _uuid(r[1]), bool(r[2])) for r in rows]


RECURRING_POOL = 1_000


def make_recurring(
    engine: Engine, sample: list[tuple[uuid.UUID, uuid.UUID, bool]], index: dict[uuid.UUID, int]
) -> list[tuple[int, uuid.UUID]]:
    """Turn the sampled tasks (the end of the consumed pool, which a run rarely reaches) into
    open daily tasks, for the complete_recurring scenario."""
    with engine.begin() as conn:
        for _user, task, _completed in sample:
            conn.execute(
                text(
                    "UPDATE tasks SET recurrence = 'FREQ=DAILY', due_date = '2026-01-01', "
                    "due_at = NULL, due_sort = '2026-01-01 00:00:00+00', completed = false, "
                    "completed_at = NULL WHERE id = :id"
                ),
                {"id": task},
            )
    return [(index[user], task) for user, task, _ in sample]


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# --- processes ----------------------------------------------------------------------------


def server_env(database_url: str, settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        ENVIRONMENT="production",
        AUTO_MIGRATE="false",
        RATE_LIMIT_ENABLED="false",
        DB_POOL_SIZE=str(settings.db_pool_size),
        DB_MAX_OVERFLOW=str(settings.db_max_overflow),
        PYTHONPATH=str(ROOT),
    )
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            if response.status < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def serve(command: list[str], env: dict[str, str], cwd: Path, probe: str) -> Iterator[int]:
    log("starting " + " ".join(command))
    process = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)
    try:
        wait_until_up(probe, process)
        yield process.pid
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(pid: int) -> list[int]:
    """The processes that serve requests: the children with --workers > 1, else pid itself."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(c) for c in task.read_text().split()]
    return children or [pid]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


# --- load -------------------------------------------------------------------------------


@dataclass
class Files:
    tokens: Path
    reads: Path
    listing: Path
    workdir: Path
    consumed: list[tuple[int, uuid.UUID]]
    next_consumed: int = 0
    # Recurring tasks (complete_recurring): completing one moves it on, so they are reused.
    recurring: Path | None = None
    per_second: int = MAX_RPS

    def slice(self, count: int) -> Path:
        """A fresh part of the consumed pool for one wrk run: no task is hit twice."""
        part = self.consumed[self.next_consumed : self.next_consumed + count]
        self.next_consumed += len(part)
        path = self.workdir / f"consumed-{self.next_consumed}.txt"
        write_pool(path, part)
        return path


def write_pool(path: Path, items: list[tuple[int, uuid.UUID]]) -> None:
    # Lua lines are 1-based; token line i + 1 is user i.
    path.write_text("".join(f"{user + 1} {task}\n" for user, task in items))


def wrk(url: str, scenario: str, connections: int, seconds: int, args: list[str]) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{min(WRK_THREADS, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        scenario,
        *args,
    ]
    env = {**os.environ, "WRK_THREADS": str(min(WRK_THREADS, connections))}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return data
    raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")


class Bench:
    def __init__(self, profile: Profile, files: Files, queries: dict[str, str | None]) -> None:
        self.profile = profile
        self.files = files
        self.queries = queries
        self.runs: list[Run] = []
        self.api_pid = 0
        self.floor_pid = 0
        self.py_spy: set[str] = set()
        self.profiles: list[Path] = []

    def measure(
        self, base: str, scenario: str, kind: str, tasks: int, connections: int
    ) -> Run | None:
        query = self.queries.get(scenario, "-")
        if query is None:
            log(f"skip {scenario}: the API has no such query")
            return None
        consumes = scenario in {"complete", "delete", "mix"}

        def args(seconds: int) -> list[str]:
            reads = self.files.listing if scenario in {"list", "filtered", "search"} else None
            if scenario == "complete_recurring":
                reads = self.files.recurring
            share = 0.1 if scenario == "mix" else 1.0
            consumed = (
                str(self.files.slice(int(self.files.per_second * seconds * share)))
                if consumes
                else "-"
            )
            return [
                str(self.files.tokens),
                str(reads or self.files.reads),
                consumed,
                self.queries.get("filtered") or "-" if scenario == "mix" else query or "-",
            ]

        wrk(base, scenario, connections, self.profile.warmup, args(self.profile.warmup))
        spy = None
        if scenario in self.py_spy and connections == max(self.profile.connections):
            # Sample the API worker during the measured run: where does a request's time go?
            path = RESULTS / "profiles" / f"{scenario}-{tasks}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            spy = subprocess.Popen(
                [
                    str(BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(self.api_pid),
                    "--duration",
                    str(self.profile.duration),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--gil",  # CPU, not time spent waiting for PostgreSQL
                    "--nonblocking",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.profiles.append(path)
        server = self.api_pid if kind == "scenario" or scenario == "healthz" else self.floor_pid
        cpu_before = cpu_seconds(server)
        data = wrk(base, scenario, connections, self.profile.duration, args(self.profile.duration))
        cpu_used = cpu_seconds(server) - cpu_before
        if spy is not None:
            spy.wait(timeout=60)
        seconds = data["duration_us"] / 1e6
        run = Run(
            scenario=scenario,
            kind=kind,
            tasks=tasks,
            connections=connections,
            rps=round(data["requests"] / seconds, 1),
            p50_ms=data["p50_us"] / 1000,
            p90_ms=data["p90_us"] / 1000,
            p95_ms=data["p95_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            max_ms=data["max_us"] / 1000,
            requests=data["requests"],
            non_2xx=data["status"],
            socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
            # Server CPU per request: far steadier than req/s on a machine shared with others.
            extra={"server_cpu_ms_per_request": round(cpu_used * 1000 / data["requests"], 3)},
        )
        self.runs.append(run)
        log(
            f"{scenario:>12} c={connections:<3} tasks={tasks:<8} {run.rps:>8.0f} req/s  "
            f"p50 {run.p50_ms:6.2f}  p99 {run.p99_ms:6.2f} ms  "
            f"errors {run.non_2xx + run.socket_errors}  "
            f"cpu {run.extra['server_cpu_ms_per_request']:.2f} ms/req"
        )
        return run


def listing_queries(database_url: str) -> dict[str, str | None]:
    """Query strings for the filtered and search scenarios, from the API's own parameters."""
    from app.main import create_app

    settings = Settings(_env_file=None, database_url=database_url, secret_key=SECRET)  # type: ignore[call-arg]
    spec = create_app(settings).openapi()
    params = {p["name"] for p in spec["paths"]["/api/v1/tasks"]["get"].get("parameters", [])}
    filtered = ["completed=false"]
    if "priority" in params:
        filtered.append("priority=high")
    if "tag" in params:
        filtered.append("tag=work")
    if "sort" in params:
        filtered.append("sort=due" if "due_before" in params else "sort=-created_at")
    filtered.append("limit=20")
    search = next((name for name in ("q", "search") if name in params), None)
    return {
        "filtered": "&".join(filtered),
        "search": f"{search}=invoice&limit=20" if search else None,
    }


def hardware() -> dict[str, Any]:
    cpu = "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "wrk_threads": WRK_THREADS,
    }


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=int, help="seconds per measured run")
    parser.add_argument("--connections", help="comma-separated wrk connection counts")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--py-spy", default="", help="comma-separated scenarios to profile with py-spy"
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    if args.duration:
        profile = Profile(**{**asdict(profile), "duration": args.duration})
    if args.connections:
        counts = tuple(int(count) for count in args.connections.split(","))
        profile = Profile(**{**asdict(profile), "connections": counts})
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    only = set(args.only.split(",")) if args.only else None
    started = datetime.now(UTC)

    with tempfile.TemporaryDirectory(prefix="tasks-bench-") as tmp:
        workdir = Path(tmp)
        with bench_database(profile, workdir) as (database_url, app_url):
            result = run_profile(
                args.profile,
                profile,
                args.workers,
                (database_url, app_url),
                workdir,
                only,
                args.py_spy,
            )
    result["started_at"] = started.isoformat(timespec="seconds")
    result["minutes"] = round((datetime.now(UTC) - started).total_seconds() / 60, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"{started:%Y-%m-%d}-{args.profile}"
    paths = report.write(result, stem)
    for path in paths:
        log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    failed = [t for t in result["targets"] if t["pass"] is False]
    log(f"targets: {len(result['targets']) - len(failed)} met, {len(failed)} missed")
    return 0


def run_profile(
    name: str,
    profile: Profile,
    workers: int,
    urls: tuple[str, str],
    workdir: Path,
    only: set[str] | None,
    py_spy: str = "",
) -> dict[str, Any]:
    database_url, app_url = urls
    settings = Settings(_env_file=None, database_url=database_url, secret_key=SECRET)  # type: ignore[call-arg]
    log(f"profile {name}: migrating {make_url(database_url).render_as_string()}")
    migrate.upgrade(database_url)
    engine = create_engine(normalize_database_url(database_url))
    grant_app_role(engine, app_url)

    # Tokens for every user, valid for the whole run; minted the way the API mints them.
    mint = settings.model_copy(update={"access_token_expire_minutes": 6 * 60})
    now = datetime.now(UTC) - timedelta(seconds=5)
    tokens = workdir / "tokens.txt"
    tokens.write_text(
        "".join(
            create_access_token(user_id=seed.user_id(i), token_version=0, settings=mint, now=now)
            + "\n"
            for i in range(profile.users)
        )
    )
    index = {seed.user_id(i): i for i in range(profile.users)}
    listing_users = profile.stages[0] // profile.per_user
    listing = workdir / "listing.txt"
    # Listing scenarios pick a random line of this pool for its user; the task id is unused.
    write_pool(listing, [(i, uuid.UUID(int=0)) for i in range(listing_users)])

    with engine.begin() as conn:
        seed.seed_users(conn, profile.users)
    queries = listing_queries(database_url)
    log(f"queries: {queries}")
    files = Files(tokens, workdir / "reads.txt", listing, workdir, [])
    bench = Bench(profile, files, queries)
    bench.py_spy = set(filter(None, py_spy.split(",")))
    env = server_env(app_url, settings)
    floor_env = server_env(database_url, settings)
    api = ["tasks-api", "serve", "--port", str(API_PORT), "--workers", str(workers)]
    api += ["--log-level", "warning"]
    api_url = f"http://127.0.0.1:{API_PORT}"
    floor_url = f"http://127.0.0.1:{FLOOR_PORT}"
    floor_cmd = [str(BIN / "uvicorn"), "benchmarks.floor_app:create_app", "--factory"]
    floor_cmd += ["--port", str(FLOOR_PORT), "--log-level", "warning"]
    is_pg = profile.database == "postgresql"

    def wanted(scenario: str) -> bool:
        return only is None or scenario in only

    rss: dict[str, float] = {}
    seeded = 0
    blocks = stage_blocks(profile)
    for number, stage in enumerate(blocks):
        started = time.monotonic()
        with engine.begin() as conn:
            seeded += seed.seed_tasks(conn, stage)
            seed.analyze(conn)
        if is_pg:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE tasks"))
        log(f"seeded {seeded} tasks in {time.monotonic() - started:.1f}s")
        final = number == len(blocks) - 1
        if final:
            sample = sample_tasks(engine, profile.reads + 4 * MAX_RPS * 30)
            reads = [(index[u], t) for u, t, _ in sample[: profile.reads]]
            rest = sample[profile.reads :]
            # Open tasks first, so completes really complete something.
            rest.sort(key=lambda row: row[2])
            # The last ones (completed, the least useful to consume) become recurring.
            recurring, rest = rest[-RECURRING_POOL:], rest[:-RECURRING_POOL]
            files.consumed = [(index[u], t) for u, t, _ in rest]
            # complete, delete and a tenth of the mix, warm-up included, at each connection count
            seconds = len(profile.connections) * (profile.warmup + profile.duration) * 2.1
            files.per_second = min(MAX_RPS, int(len(files.consumed) / seconds))
            write_pool(files.reads, reads)
            files.recurring = workdir / "recurring.txt"
            write_pool(files.recurring, make_recurring(engine, recurring, index))
        else:
            write_pool(files.reads, [(0, uuid.UUID(int=0))])

        api_bin = [str(BIN / api[0]), *api[1:]]
        with serve(api_bin, env, workdir, api_url + "/healthz") as api_pid:
            bench.api_pid = worker_pids(api_pid)[0]
            floor = serve(floor_cmd, floor_env, workdir, floor_url + "/docs") if is_pg else None
            with floor or _nothing() as floor_pid:
                bench.floor_pid = floor_pid
                for connections in profile.connections:
                    for scenario in ("list", "filtered", "search"):
                        if wanted(scenario):
                            bench.measure(api_url, scenario, "scenario", seeded, connections)
                if final:
                    floors = ["healthz", "floor_sync", "floor_async"] if is_pg else ["healthz"]
                    for connections in profile.connections:
                        # Floors before and after the scenarios: the same minutes, the same noise.
                        run_floors(bench, floors, api_url, floor_url, seeded, connections)
                        for scenario in (
                            "get",
                            "get_304",
                            "create",
                            "create_keyed",
                            "patch",
                            "complete",
                            "complete_recurring",
                            "delete",
                            "mix",
                        ):
                            if wanted(scenario):
                                bench.measure(api_url, scenario, "scenario", seeded, connections)
                        run_floors(bench, floors, api_url, floor_url, seeded, connections)
                for pid in worker_pids(api_pid):
                    rss[f"{seeded}"] = max(rss.get(f"{seeded}", 0.0), round(peak_rss_mb(pid), 1))
    engine.dispose()
    return {
        "profile": name,
        "database": profile.database,
        "workers": workers,
        "settings": asdict(profile),
        "queries": queries,
        "hardware": hardware(),
        "commit": git_commit(),
        "peak_rss_mb_per_worker": rss,
        "api_role": make_url(app_url).username,
        "runs": [asdict(run) for run in bench.runs],
        "targets": [],
    }


def run_floors(
    bench: Bench, floors: list[str], api_url: str, floor_url: str, tasks: int, connections: int
) -> None:
    for scenario in floors:
        base = api_url if scenario == "healthz" else floor_url
        bench.measure(base, scenario, "floor", tasks, connections)


@contextmanager
def _nothing() -> Iterator[int]:
    yield 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What rendering a calendar costs: time and peak memory of `services.calendar.iter_calendar`
for one account of N tasks, on SQLite and on PostgreSQL (issue 20).

    python -m benchmarks.calendar_feed --tasks 10000 [--database postgresql]

The tasks are a mix: half dated (a quarter of those timed), every fifth recurring, two tags
each, a reminder on every tenth. The stream goes to a sink that keeps only a digest, as the
feed route's spool keeps only its bytes; peak memory is tracemalloc's (Python allocations
during the render) and the process's peak RSS growth.
"""

import argparse
import contextlib
import hashlib
import multiprocessing
import os
import resource
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlmodel import Session

from app import migrate
from app.core.icalendar_render import Flavour
from app.database import normalize_database_url
from app.models import Reminder, Tag, Task, TaskList, TaskTag, User
from app.services import calendar as calendar_service

ADMIN_URL = normalize_database_url(
    os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(url: str, count: int) -> uuid.UUID:
    engine = create_engine(url)
    user_id, list_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    tags = [uuid.uuid4(), uuid.uuid4()]
    with engine.begin() as conn:
        conn.execute(
            insert(User).values(
                id=user_id,
                email="bench@example.com",
                timezone="Europe/Berlin",
                token_version=0,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(TaskList).values(
                id=list_id,
                user_id=user_id,
                name="Inbox",
                name_key="inbox",
                position=0,
                archived=False,
                inbox=True,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(Tag),
            [
                {
                    "id": t,
                    "user_id": user_id,
                    "name": f"tag{i}",
                    "name_key": f"tag{i}",
                    "created_at": now,
                }
                for i, t in enumerate(tags)
            ],
        )
        rows, links, reminders = [], [], []
        for index in range(count):
            task_id = uuid.uuid4()
            due_date = due_at = None
            if index % 2 == 0:
                if index % 8 == 0:
                    due_at = now + timedelta(hours=index)
                else:
                    due_date = date(2026, 12, 1) + timedelta(days=index % 400)
            due_sort = due_at or (
                datetime.combine(due_date, datetime.min.time(), UTC) if due_date else None
            )
            recurring = due_sort is not None and index % 5 == 0
            rows.append(
                {
                    "id": task_id,
                    "user_id": user_id,
                    "title": f"Benchmark task number {index}, with a title of some length",
                    "description": "A description; with, characters to escape\nand lines"
                    if index % 3 == 0
                    else None,
                    "completed": index % 7 == 0,
                    "completed_at": now if index % 7 == 0 else None,
                    "priority": index % 4,
                    "due_date": due_date,
                    "due_at": due_at,
                    "due_sort": due_sort,
                    "created_at": now + timedelta(microseconds=index),
                    "updated_at": now,
                    "list_id": list_id,
                    "version": 1,
                    "recurrence": "FREQ=WEEKLY;BYDAY=MO,TH" if recurring else None,
                    "recurrence_basis": "due",
                    "recurrence_done": 0,
                    "subtask_count": 0,
                    "open_subtask_count": 0,
                }
            )
            links += [{"task_id": task_id, "tag_id": t, "user_id": user_id} for t in tags]
            if index % 10 == 0:
                reminders.append(
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "task_id": task_id,
                        "before": "PT15M",
                        "missed": False,
                        "created_at": now,
                    }
                )
        conn.execute(insert(Task), rows)
        conn.execute(insert(TaskTag), links)
        conn.execute(insert(Reminder), reminders)
    engine.dispose()
    return user_id


def _render(url: str, user_id: uuid.UUID, flavour: Flavour) -> int:
    engine = create_engine(url)
    digest = hashlib.sha256()
    size = 0
    with Session(engine) as session:
        for chunk in calendar_service.iter_calendar(
            session=session, user_id=user_id, zone="Europe/Berlin", flavour=flavour
        ):
            digest.update(chunk)
            size += len(chunk)
    engine.dispose()
    return size


def _peak_rss_mb() -> float:
    """The process's peak RSS since the last reset (Linux `VmHWM`); else since it started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _rss_mb()


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+): the peak then
    # measures the render, not the imports before it.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _child(url: str, user_id: uuid.UUID, flavour: Flavour, out: Any) -> None:
    """In a fresh interpreter: the render, its time, the RSS before it and its peak."""
    _render(url, uuid.uuid4(), flavour)  # imports, connection, statement caches
    _reset_peak_rss()
    before = _peak_rss_mb()
    started = time.perf_counter()
    size = _render(url, user_id, flavour)
    out.put((time.perf_counter() - started, size, before, _peak_rss_mb()))


def measure(url: str, user_id: uuid.UUID, flavour: Flavour, count: int) -> dict[str, float]:
    """Time and peak RSS in a process of its own (spawned: nothing inherited from the seeding),
    then tracemalloc's peak of Python allocations here (tracing slows Python down several
    times, so it is not timed)."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_child, args=(url, user_id, flavour, out))
    child.start()
    seconds, size, rss_before, rss_peak = out.get()
    child.join()
    tracemalloc.start()
    _render(url, user_id, flavour)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(seconds, 2),
        "ms_per_task": round(seconds * 1000 / max(1, count), 3),
        "megabytes_out": round(size / 1e6, 2),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_during_render_mb": round(rss_peak, 1),
        "tracemalloc_peak_mb": round(peak / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database == "sqlite":
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
        else:
            name = f"tasks_api_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        try:
            migrate.upgrade(url)
            user_id = seed(url, args.tasks)
            # The same process with nothing to render: what the imports and a connection
            # take, to read the peaks against.
            empty = measure(url, uuid.uuid4(), Flavour.todo, 0)
            print(args.database, 0, "empty account", empty)
            for flavour in (Flavour.todo, Flavour.events):
                print(
                    args.database,
                    args.tasks,
                    flavour.value,
                    measure(url, user_id, flavour, args.tasks),
                )
        finally:
            if args.database == "postgresql":
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()

"""Peak memory of exporting a large account (issue 20: a 100,000-task export under 200 MB).

    python -m benchmarks.export_memory [--tasks 100000] [--database-url URL]

Seeds one account with TASKS tasks (a tag on every tenth, a reminder on every hundredth, a
subtask under every fiftieth) by plain SQL into a fresh database (SQLite by default), then
runs `tasks-api export` for each format in a child process under /usr/bin/time and prints the
child's peak resident set size and the export's size.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

from app import migrate
from app.database import normalize_database_url
from app.models import Reminder, Tag, TaskTag, User
from app.models.task import TASKS
from app.services.lists import new_inbox

EMAIL = "big@example.com"


def seed(database_url: str, count: int) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(normalize_database_url(database_url))
    user_id = uuid.uuid4()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(User).values(id=user_id, email=EMAIL, token_version=0, timezone="UTC",
                                created_at=start, updated_at=start)
        )  # fmt: skip
        inbox = new_inbox(user_id)
        connection.execute(
            insert(type(inbox)).values(
                id=uuid.uuid4(), user_id=user_id, name=inbox.name, name_key=inbox.name_key,
                color=None, position=0, archived=False, inbox=True,
                created_at=start, updated_at=start,
            )
        )  # fmt: skip
        list_id = connection.exec_driver_sql("SELECT id FROM lists").scalar_one()
        tag_id = uuid.uuid4()
        connection.execute(
            insert(Tag).values(id=tag_id, user_id=user_id, name="bulk", name_key="bulk",
                               created_at=start)
        )  # fmt: skip
        batch: list[dict[str, object]] = []
        links: list[dict[str, object]] = []
        reminders: list[dict[str, object]] = []
        parent: uuid.UUID | None = None
        for number in range(count):
            task_id = uuid.uuid4()
            moment = start + timedelta(seconds=number)
            under = parent if number % 50 == 1 else None
            batch.append(
                {
                    "id": task_id, "user_id": user_id, "list_id": uuid.UUID(str(list_id)),
                    "title": f"Task number {number} with a title of typical length",
                    "description": "Some notes about the task." if number % 3 == 0 else None,
                    "completed": number % 4 == 0,
                    "completed_at": moment if number % 4 == 0 else None,
                    "priority": number % 4, "due_date": None,
                    "due_at": moment + timedelta(days=3) if number % 2 else None,
                    "due_sort": moment + timedelta(days=3) if number % 2 else None,
                    "created_at": moment, "updated_at": moment, "deleted_at": None,
                    "version": 1, "recurrence": None, "recurrence_basis": "due",
                    "recurrence_done": 0, "recurrence_time": None, "parent_id": under,
                    "subtask_count": 0, "open_subtask_count": 0,
                }
            )  # fmt: skip
            if number % 50 == 0:
                parent = task_id
            if number % 10 == 0:
                links.append({"task_id": task_id, "tag_id": tag_id, "user_id": user_id})
            if number % 100 == 0:
                reminders.append(
                    {"id": uuid.uuid4(), "user_id": user_id, "task_id": task_id,
                     "at": moment, "before": None, "time": None, "fire_at": moment,
                     "fired_at": None, "missed": False, "created_at": moment}
                )  # fmt: skip
            if len(batch) == 5000:
                connection.execute(insert(TASKS), batch)
                batch = []
        if batch:
            connection.execute(insert(TASKS), batch)
        connection.execute(insert(TaskTag), links)
        connection.execute(insert(Reminder), reminders)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="export-memory-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'big.db'}"
    seed(database_url, args.tasks)
    tasks_api = Path(sys.executable).with_name("tasks-api")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY_FILE": str(workdir / "key")}
    for format in ("json", "csv"):
        output = workdir / f"export.{format}"
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%M", str(tasks_api), "export", "--user", EMAIL,
             "--format", format, "--output", str(output)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        peak_kib = int(result.stderr.strip().splitlines()[-1])
        print(
            f"{format}: {args.tasks} tasks, {output.stat().st_size / 1e6:.1f} MB written, "
            f"peak RSS {peak_kib / 1024:.1f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

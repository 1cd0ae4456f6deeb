"""`tasks-api worker`: two worker processes on one database fire each due reminder exactly
once (each firing is logged with the reminder's id, so a reminder fired twice would show in
the two logs), and a worker exits cleanly on SIGTERM."""

import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, select
from sqlmodel import Session, col

from app.models import Reminder, Task, User
from app.services import lists as list_service
from tests.live import TASKS_API, server_env

REMINDERS = 40
FIRED = re.compile(r"event reminder\.fired \S+ for user (\S+)")


def _seed(engine: Engine) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
        session.add(user)
        session.flush()
        task = Task(
            user_id=user.id,
            title="worker test",
            list_id=list_service.ensure_inbox(session=session, user_id=user.id),
        )
        session.add(task)
        session.flush()
        ids = [uuid.uuid4() for _ in range(REMINDERS)]
        session.execute(
            insert(Reminder),
            [
                {
                    "id": reminder_id,
                    "user_id": user.id,
                    "task_id": task.id,
                    "at": now - timedelta(seconds=i),
                    "fire_at": now - timedelta(seconds=i),
                    "missed": False,
                    "created_at": now,
                }
                for i, reminder_id in enumerate(ids)
            ],
        )
        session.commit()
    return user.id, ids


def _unfired(engine: Engine, ids: list[uuid.UUID]) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count()).where(col(Reminder.id).in_(ids), col(Reminder.fired_at).is_(None))
        ).scalar_one()


def _started(worker: "subprocess.Popen[str]") -> str:
    """The worker's output up to its runner's first line (it may have started a pass)."""
    assert worker.stdout is not None
    seen = ""
    while "job runner started" not in seen:
        line = worker.stdout.readline()
        assert line, f"the worker exited: {seen}"
        seen += line
    return seen


def test_two_worker_processes_fire_each_reminder_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    env = server_env(
        tmp_path,
        database_url,
        {"REMINDER_SCHEDULER_INTERVAL_SECONDS": "0.1", "LOG_FORMAT": "text"},
    )
    workers = [
        subprocess.Popen(
            [str(TASKS_API), "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    user_id: uuid.UUID | None = None
    try:
        outputs = [_started(worker) for worker in workers]
        # Both are running their passes: now the reminders come due.
        user_id, ids = _seed(engine)
        deadline = time.monotonic() + 60
        while _unfired(engine, ids) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        rest = [worker.communicate(timeout=30)[0] for worker in workers]
        if user_id is not None:
            with Session(engine) as session:
                session.execute(delete(User).where(col(User.id) == user_id))
                session.commit()
    outputs = [before + after for before, after in zip(outputs, rest, strict=True)]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert _unfired(engine, ids) == 0
    fired = Counter(match[1] for output in outputs for match in FIRED.finditer(output))
    assert fired[str(user_id)] == REMINDERS, outputs  # 40 firings for 40 reminders: none twice

"""Run the server's periodic jobs on a thread of their own, started and stopped by the app's
lifespan (app.main). Each job first runs `first_delay` seconds after start-up (or after its
interval, if shorter: start-up is busy enough), then every `interval` seconds; a failing run
is logged and tried again next time, never stopping the others."""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine

from app.core.config import Settings
from app.jobs import idempotency_keys, purge_trash

logger = logging.getLogger("app.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds between runs
    run: Callable[[], object]


def server_jobs(settings: Settings, engine: Engine) -> list[Job]:
    """The periodic work of a server process (a job with interval 0 is off)."""
    jobs = []
    if settings.trash_purge_interval_seconds > 0:
        jobs.append(
            Job(
                "purge-trash",
                settings.trash_purge_interval_seconds,
                partial(
                    purge_trash.run,
                    engine,
                    retention_days=settings.trash_retention_days,
                ),
            )
        )
        # Stored Idempotency-Key responses expire on the same schedule as the trash.
        jobs.append(
            Job(
                "purge-idempotency-keys",
                settings.trash_purge_interval_seconds,
                partial(idempotency_keys.purge_expired_keys, engine, settings),
            )
        )
    return jobs


FIRST_DELAY_SECONDS = 30.0


class JobRunner:
    def __init__(self, jobs: Sequence[Job], *, first_delay: float = FIRST_DELAY_SECONDS) -> None:
        self.jobs = list(jobs)
        self.first_delay = first_delay
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobs", daemon=True)

    def start(self) -> None:
        if self.jobs:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for the job in progress (at most `timeout`)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        start = time.monotonic()
        due = {
            index: start + min(job.interval, self.first_delay)
            for index, job in enumerate(self.jobs)
        }
        while not self._stopping.is_set():
            now = time.monotonic()
            for index, job in enumerate(self.jobs):
                if due[index] <= now and not self._stopping.is_set():
                    self._run_once(job)
                    due[index] = time.monotonic() + job.interval
            self._stopping.wait(max(0.0, min(due.values()) - time.monotonic()))

    def _run_once(self, job: Job) -> None:
        try:
            job.run()
        except Exception:
            # A database outage or a bug in one run must not end the thread.
            logger.exception("background job %s failed; it runs again later", job.name)

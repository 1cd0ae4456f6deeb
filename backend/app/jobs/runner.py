"""Run the background jobs on a thread of their own, started and stopped by the app's lifespan
(app.main), or in the foreground with `tasks-api worker`. Each job first runs `first_delay`
seconds after start-up (the runner's default, or the job's own: reminders run at once, so
what came due while nothing ran fires at start-up), then every `interval` seconds; a failing
run is logged and tried again next time, never stopping the others. Every job is safe to run
in several processes at once."""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from app.core.config import Settings
from app.jobs import idempotency_keys, purge_changes, purge_trash, reminders

logger = logging.getLogger("app.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    interval: float  # seconds between runs
    run: Callable[[], object]
    first_delay: float | None = None  # None: the runner's default


def fire_reminders(engine: Engine, settings: Settings) -> None:
    """One pass of the reminder scheduler: fire (or mark missed) what is due."""
    grace = timedelta(minutes=settings.reminder_grace_minutes)
    result = reminders.fire_due_reminders(engine, grace=grace)
    if result.fired:
        logger.info("fired %d reminder(s)", len(result.fired))


def reminder_jobs(settings: Settings, engine: Engine) -> list[Job]:
    """What `tasks-api worker` runs, and the server too unless REMINDER_SCHEDULER_ENABLED=false."""
    return [
        Job(
            "reminders",
            settings.reminder_scheduler_interval_seconds,
            partial(fire_reminders, engine, settings),
            first_delay=0,
        )
    ]


def server_jobs(settings: Settings, engine: Engine) -> list[Job]:
    """The periodic work of a server process (a purge interval of 0 turns the purges off)."""
    jobs = []
    if settings.trash_purge_interval_seconds > 0:
        retention = settings.trash_retention_days
        jobs.append(
            Job(
                "purge-trash",
                settings.trash_purge_interval_seconds,
                partial(purge_trash.run, engine, retention_days=retention),
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
        # And the change feed's log, kept TOMBSTONE_RETENTION_DAYS.
        jobs.append(
            Job(
                "purge-changes",
                settings.trash_purge_interval_seconds,
                partial(purge_changes.purge_old_changes, engine, settings),
            )
        )
    if settings.reminder_scheduler_enabled:
        jobs.extend(reminder_jobs(settings, engine))
    return jobs


FIRST_DELAY_SECONDS = 30.0


class JobRunner:
    def __init__(self, jobs: Sequence[Job], *, first_delay: float = FIRST_DELAY_SECONDS) -> None:
        self.jobs = list(jobs)
        self.first_delay = first_delay
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name="jobs", daemon=True)

    def start(self) -> None:
        if self.jobs:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the runner to stop and wait for the job in progress (at most `timeout`)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run(self) -> None:
        """Run the jobs until stop(): on the runner's thread, or in the foreground."""
        logger.info("job runner started: %s", ", ".join(job.name for job in self.jobs))
        start = time.monotonic()
        due = {
            index: start
            + (
                job.first_delay
                if job.first_delay is not None
                else min(job.interval, self.first_delay)
            )
            for index, job in enumerate(self.jobs)
        }
        while due and not self._stopping.is_set():
            now = time.monotonic()
            for index, job in enumerate(self.jobs):
                if due[index] <= now and not self._stopping.is_set():
                    self._run_once(job)
                    due[index] = time.monotonic() + job.interval
            self._stopping.wait(max(0.0, min(due.values()) - time.monotonic()))
        logger.info("job runner stopped")

    def _run_once(self, job: Job) -> None:
        try:
            job.run()
        except Exception:
            # A database outage or a bug in one run must not end the thread.
            logger.exception("background job %s failed; it runs again later", job.name)

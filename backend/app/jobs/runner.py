"""Runs the background jobs every few seconds: in a thread of each server process (started
from the app's lifespan, unless REMINDER_SCHEDULER_ENABLED=false), or in the foreground with
`tasks-api worker`. Each job is safe to run in several processes at once."""

import logging
import threading
from datetime import timedelta

from sqlalchemy import Engine

from app.core.config import Settings
from app.jobs import reminders

logger = logging.getLogger("app.jobs")


class JobRunner:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.interval = settings.reminder_scheduler_interval_seconds
        self.grace = timedelta(minutes=settings.reminder_grace_minutes)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One pass of every job. A failure (the database away) is logged; the next pass
        tries again."""
        try:
            result = reminders.fire_due_reminders(self.engine, grace=self.grace)
        except Exception:
            logger.exception("reminder pass failed; retrying in %s s", self.interval)
            return
        if result.fired:
            logger.info("fired %d reminder(s)", len(result.fired))

    def run(self) -> None:
        """Pass after pass until stop(); the first at once, so reminders that came due while
        nothing ran fire (or are marked missed) at start-up."""
        logger.info("job runner started (every %s s)", self.interval)
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self.interval)
        logger.info("job runner stopped")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="job-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

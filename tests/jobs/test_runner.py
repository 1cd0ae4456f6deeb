"""The periodic job runner: runs each job again and again, survives a failing run, stops."""

import threading

import pytest

from app.core.config import Settings
from app.jobs.runner import Job, JobRunner, server_jobs


def test_runs_jobs_repeatedly_and_survives_failures(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[str] = []
    three_runs = threading.Event()

    def failing() -> None:
        runs.append("failing")
        raise RuntimeError("boom")

    def counting() -> None:
        runs.append("counting")
        if runs.count("counting") >= 3:
            three_runs.set()

    runner = JobRunner(
        [Job("failing", 0.001, failing), Job("counting", 0.001, counting)], first_delay=0
    )
    runner.start()
    try:
        assert three_runs.wait(30)
    finally:
        runner.stop()
    assert runs.count("failing") >= 2
    assert any("background job failing failed" in r.getMessage() for r in caplog.records)


def test_stop_without_jobs_or_before_the_first_run() -> None:
    JobRunner([]).stop()
    ran = threading.Event()
    runner = JobRunner([Job("later", 3600, ran.set)], first_delay=3600)
    runner.start()
    runner.stop()
    assert not ran.is_set()


def test_the_purge_is_off_with_interval_zero() -> None:
    off = Settings(_env_file=None, trash_purge_interval_seconds=0)  # type: ignore[call-arg]
    on = Settings(_env_file=None)  # type: ignore[call-arg]
    off_names = [job.name for job in server_jobs(off, engine=None)]  # type: ignore[arg-type]
    assert off_names == ["reminders"]
    names = [job.name for job in server_jobs(on, engine=None)]  # type: ignore[arg-type]
    assert names == ["purge-trash", "purge-idempotency-keys", "purge-changes", "reminders"]

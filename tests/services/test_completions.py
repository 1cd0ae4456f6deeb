"""Completing a recurring task under real concurrency, on SQLite and PostgreSQL: two
transactions that read the same occurrence advance the task once (issue 19)."""

import threading
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from app.database import session_engines
from app.models import TaskCompletion, User
from app.schemas.task import TaskCreate
from app.services import completions as completion_service
from app.services import tasks as task_service
from app.services.tasks import ShownTask


@pytest.fixture
def user_id(engine: Engine) -> Iterator[uuid.UUID]:
    # Real concurrent transactions commit, so this test cleans up its own user (and, by
    # cascade, its tasks and completions).
    with Session(engine, expire_on_commit=False) as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
        session.add(user)
        session.commit()
    yield user.id
    with Session(engine) as session:
        session.execute(delete(User).where(col(User.id) == user.id))
        session.commit()


def _write_session(engine: Engine) -> Session:
    # As the API opens them for writes (BEGIN IMMEDIATE on SQLite).
    return Session(session_engines(engine).write, expire_on_commit=False)


def _completions(engine: Engine, task_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count()).where(col(TaskCompletion.task_id) == task_id)
        ).scalar_one()


def test_concurrent_completes_of_one_occurrence_advance_once(
    engine: Engine, user_id: uuid.UUID
) -> None:
    with _write_session(engine) as session:
        view = task_service.create_task(
            session=session,
            user_id=user_id,
            task_in=TaskCreate(title="rent", due=date(2026, 12, 1), recurrence="FREQ=MONTHLY"),
        )
    task_id = view.task.id
    callers = 6
    barrier = threading.Barrier(callers)
    dues: list[object] = []
    errors: list[BaseException] = []

    def complete() -> None:
        try:
            with _write_session(engine) as session:
                barrier.wait(timeout=10)
                # Every caller saw the task due on 1 December (two tabs, retries).
                done = completion_service.complete_task(
                    session=session,
                    user_id=user_id,
                    task_id=task_id,
                    zone="UTC",
                    seen_due=date(2026, 12, 1),
                )
                dues.append(done.task.due_date)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=complete) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert dues == [date(2027, 1, 1)] * callers
    assert _completions(engine, task_id) == 1


def test_the_guard_refuses_a_stale_read(engine: Engine, user_id: uuid.UUID) -> None:
    """Two requests read the task, then both write: the second write finds the due moved."""
    with _write_session(engine) as session:
        view = task_service.create_task(
            session=session,
            user_id=user_id,
            task_in=TaskCreate(title="plants", due=date(2026, 12, 1), recurrence="FREQ=DAILY"),
        )
    task_id = view.task.id
    with _write_session(engine) as first, _write_session(engine) as second:
        read_first = task_service.get_task_view(session=first, user_id=user_id, task_id=task_id)
        read_second = task_service.get_task_view(session=second, user_id=user_id, task_id=task_id)
        assert isinstance(read_first.task, ShownTask)
        now = read_first.task.created_at
        one = completion_service._advance(first, user_id, read_first, "UTC", None, now, record=True)
        two = completion_service._advance(
            second, user_id, read_second, "UTC", None, now, record=True
        )
    assert one.task.due_date == two.task.due_date == date(2026, 12, 2)
    assert _completions(engine, task_id) == 1

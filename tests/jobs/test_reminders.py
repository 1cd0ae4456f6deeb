"""The reminder scheduler (issue 19): fires each due reminder exactly once, even with two
schedulers on separate engines at once; marks reminders found too late as missed; emits the
`reminder.fired` event in the firing transaction."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select
from sqlmodel import Session, col

from app import migrate
from app.core import events
from app.core.config import Settings
from app.database import create_db_engine
from app.jobs import reminders as reminder_jobs
from app.jobs.runner import fire_reminders
from app.main import create_app
from app.models import Reminder, Task, User, Webhook, WebhookDelivery
from app.services import lists as list_service
from app.services import outbox
from tests.conftest import ThrowawayPostgres, make_settings

GRACE = timedelta(minutes=60)
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Owner:
    def __init__(self, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.task_id = task_id


@pytest.fixture
def owner(engine: Engine) -> Iterator[Owner]:
    # The scheduler works on committed rows across users: this test commits, then deletes
    # its user (reminders and tasks go by cascade).
    with Session(engine, expire_on_commit=False) as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
        session.add(user)
        session.flush()
        task = Task(
            user_id=user.id,
            title="Water the plants",
            list_id=list_service.ensure_inbox(session=session, user_id=user.id),
        )
        session.add(task)
        session.commit()
    yield Owner(user.id, task.id)
    with Session(engine) as session:
        session.execute(delete(User).where(col(User.id) == user.id))
        session.commit()


def _reminders(engine: Engine, owner: Owner, fire_times: list[datetime]) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in fire_times]
    with Session(engine) as session:
        session.execute(
            insert(Reminder),
            [
                {
                    "id": reminder_id,
                    "user_id": owner.user_id,
                    "task_id": owner.task_id,
                    "at": fire_at,
                    "fire_at": fire_at,
                    "missed": False,
                    "created_at": NOW - timedelta(days=1),
                }
                for reminder_id, fire_at in zip(ids, fire_times, strict=True)
            ],
        )
        session.commit()
    return ids


def _state(engine: Engine, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, bool]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Reminder.id, Reminder.fired_at, Reminder.missed).where(col(Reminder.id).in_(ids))
        ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_due_reminders_fire_once_and_late_ones_are_missed(engine: Engine, owner: Owner) -> None:
    due, late, future = _reminders(
        engine,
        owner,
        [NOW - timedelta(minutes=5), NOW - timedelta(hours=2), NOW + timedelta(minutes=1)],
    )
    seen: list[events.Event] = []
    unsubscribe = events.subscribe(lambda _connection, event: seen.append(event))
    try:
        result = reminder_jobs.fire_due_reminders(engine, grace=GRACE, now=NOW)
        again = reminder_jobs.fire_due_reminders(engine, grace=GRACE, now=NOW)
    finally:
        unsubscribe()
    assert due in result.fired
    assert late in result.missed
    assert future not in result.fired + result.missed
    assert due not in again.fired + again.missed
    state = _state(engine, [due, late, future])
    assert state[due] == (NOW, False)
    assert state[late] == (NOW, True)
    assert state[future] == (None, False)
    mine = [event for event in seen if event.user_id == owner.user_id]
    assert [(e.type, e.data["reminder_id"], e.data["task_title"]) for e in mine] == [
        (events.REMINDER_FIRED, str(due), "Water the plants")
    ]


def test_reminders_of_completed_tasks_do_not_fire(engine: Engine, owner: Owner) -> None:
    (reminder,) = _reminders(engine, owner, [NOW - timedelta(minutes=1)])
    with Session(engine) as session:
        task = session.get(Task, owner.task_id)
        assert task is not None
        task.completed = True
        session.commit()
    result = reminder_jobs.fire_due_reminders(engine, grace=GRACE, now=NOW)
    assert reminder not in result.fired
    assert _state(engine, [reminder])[reminder] == (None, False)


def test_a_subscriber_failure_rolls_the_firing_back(engine: Engine, owner: Owner) -> None:
    (reminder,) = _reminders(engine, owner, [NOW - timedelta(minutes=1)])

    def broken(_connection: Any, event: events.Event) -> None:
        if event.user_id == owner.user_id:
            raise RuntimeError("delivery store unavailable")

    unsubscribe = events.subscribe(broken)
    try:
        with pytest.raises(RuntimeError):
            reminder_jobs.fire_due_reminders(engine, grace=GRACE, now=NOW)
    finally:
        unsubscribe()
    assert _state(engine, [reminder])[reminder] == (None, False)
    assert reminder in reminder_jobs.fire_due_reminders(engine, grace=GRACE, now=NOW).fired


def test_two_schedulers_fire_each_reminder_exactly_once(
    engine: Engine, settings: Settings, owner: Owner
) -> None:
    ids = _reminders(engine, owner, [NOW - timedelta(seconds=i) for i in range(60)])
    # Two schedulers as two instances would run them: separate engines, separate pools.
    engines = [create_db_engine(settings), create_db_engine(settings)]
    barrier = threading.Barrier(len(engines))
    fired: list[list[uuid.UUID]] = [[] for _ in engines]
    errors: list[BaseException] = []

    def scheduler(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            # Small batches: many claims interleave between the two.
            for _ in range(20):
                result = reminder_jobs.fire_batch(engines[index], grace=GRACE, now=NOW, batch=5)
                fired[index].extend(result.fired)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(len(engines))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for each in engines:
            each.dispose()
    assert not errors, errors
    mine = [reminder for batch in fired for reminder in batch if reminder in set(ids)]
    assert sorted(mine) == sorted(ids)  # every one fired, none twice
    assert all(fired_at == NOW for fired_at, _ in _state(engine, ids).values())


@pytest.fixture(scope="module")
def postgres_settings(
    throwaway_postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    url = throwaway_postgres.create()
    migrate.upgrade(url)
    return make_settings(url, tmp_path_factory.mktemp("claims"))


def test_a_claimed_row_is_skipped_by_the_other_scheduler(postgres_settings: Settings) -> None:
    """PostgreSQL: while one scheduler holds its claim (uncommitted), the other's claim skips
    those rows instead of waiting for them or taking them. (SQLite has one writer at a time:
    its passes run one after the other.)"""
    engine, other = create_db_engine(postgres_settings), create_db_engine(postgres_settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
            session.add(user)
            session.flush()
            task = Task(
                user_id=user.id,
                title="claimed",
                list_id=list_service.ensure_inbox(session=session, user_id=user.id),
            )
            session.add(task)
            session.commit()
        (reminder,) = _reminders(engine, Owner(user.id, task.id), [NOW - timedelta(minutes=1)])
        with engine.begin() as holder:
            holder.execute(reminder_jobs.JOB_SETTING)
            claim = reminder_jobs._CLAIM
            claimed = holder.execute(claim, {"now": NOW, "batch": 1000}).all()
            assert reminder in {row.id for row in claimed}
            result = reminder_jobs.fire_batch(other, grace=GRACE, now=NOW, batch=1000)
            assert reminder not in result.fired
        assert reminder in reminder_jobs.fire_batch(other, grace=GRACE, now=NOW).fired
    finally:
        engine.dispose()
        other.dispose()


def test_the_runner_fires_what_came_due_while_it_was_not_running(
    engine: Engine, settings: Settings, owner: Owner
) -> None:
    now = datetime.now(UTC)
    recent, old = _reminders(engine, owner, [now - timedelta(minutes=30), now - timedelta(hours=3)])
    fire_reminders(engine, settings)  # the first pass, as at start-up
    state = _state(engine, [recent, old])
    assert state[recent][0] is not None
    assert state[recent][1] is False
    assert state[old][1] is True  # more than REMINDER_GRACE_MINUTES (60) late: missed


@pytest.mark.parametrize("enabled", [True, False])
def test_the_server_runs_the_scheduler_unless_told_not_to(
    settings: Settings, enabled: bool
) -> None:
    # The purges off, so the job runner's thread runs exactly when the reminders do.
    changed = Settings(  # type: ignore[call-arg]
        _env_file=None,
        **{
            **settings.model_dump(),
            "reminder_scheduler_enabled": enabled,
            "trash_purge_interval_seconds": 0,
        },
    )

    def running() -> bool:
        return any(t.name == "jobs" and t.is_alive() for t in threading.enumerate())

    with TestClient(create_app(changed)):
        assert running() is enabled
    assert not running()


def test_a_fired_reminder_is_queued_for_the_webhooks_subscribed_to_it(
    engine: Engine, settings: Settings, owner: Owner
) -> None:
    """reminder.fired reaches the webhook outbox (issue 21) through the events hook, in the
    firing transaction: one delivery for the webhook that asked for it, none for the other."""
    with Session(engine) as session:
        for events_wanted in (["reminder.fired"], ["task.created"]):
            session.add(
                Webhook(
                    user_id=owner.user_id,
                    url="https://hooks.example.com/tasks",
                    events=events_wanted,
                    secret="whsec_" + "A" * 32,
                )
            )
        session.commit()
    outbox.SUBSCRIBERS.forget(owner.user_id)
    (reminder,) = _reminders(engine, owner, [datetime.now(UTC) - timedelta(minutes=1)])
    fire_reminders(engine, settings)
    with Session(engine) as session:
        queued = session.scalars(
            select(WebhookDelivery).where(col(WebhookDelivery.user_id) == owner.user_id)
        ).all()
    assert [delivery.event_type for delivery in queued] == ["reminder.fired"]
    payload = json.loads(queued[0].payload)
    assert payload["type"] == "reminder.fired"
    assert payload["data"]["reminder_id"] == str(reminder)
    assert payload["data"]["task_id"] == str(owner.task_id)

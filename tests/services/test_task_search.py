"""Keyword search finds the same words on SQLite and PostgreSQL, and "overdue" / "due
today" follow the user's time zone, checked at fixed instants."""

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from app.models import User
from app.schemas.task import TaskCreate
from app.schemas.task_query import TaskQuery
from app.services import tasks as task_service

TEXTS = [
    "Send the e-mail to user@example.com",
    "Pay 3.5 EUR before 2026-11-30",
    "foo_bar and don't forget",
    "Straße in München",
    "naïve ÉTÉ café",
    "see https://example.com/path?q=invoice#frag",
    "C++ and C# notes",
    "TODO: invoice (draft) #42",
]
QUERIES = [
    "mail",
    "e-mail",
    "user",
    "example com",
    "3",
    "5 eur",
    "2026",
    "11",
    "foo",
    "bar",
    "foo_bar",
    "don",
    "t",
    "straße",
    "STRASSE",
    "münchen",
    "été",
    "NAÏVE",
    "path invoice",
    "c",
    "draft 42",
    "invoice",
    "nothing",
]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def _user(session: Session, zone: str = "UTC") -> User:
    user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x", timezone=zone)
    session.add(user)
    session.flush()
    return user


def test_search_matches_whole_words_on_both_databases(session: Session) -> None:
    user = _user(session)
    ids = {}
    for text in TEXTS:
        view = task_service.create_task(
            session=session, user_id=user.id, task_in=TaskCreate(title=text)
        )
        ids[view.task.id] = text
    for q in QUERIES:
        views, _ = task_service.list_tasks(
            session=session, user_id=user.id, query=TaskQuery(q=q, limit=100)
        )
        found = {ids[view.task.id] for view in views}
        expected = {text for text in TEXTS if _words(q) <= _words(text)}
        assert found == expected, q


NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "overdue", "due_today"),
    [
        # 10:00 UTC is already 00:00 on the 25th in Kiritimati (UTC+14): the 24th has ended,
        # and "today" runs from 10:00 UTC on the 24th to 10:00 UTC on the 25th.
        (
            "Pacific/Kiritimati",
            {"all-day 23rd", "all-day 24th", "09:00Z"},
            {"all-day 25th", "23:00Z"},
        ),
        ("UTC", {"all-day 23rd", "09:00Z"}, {"all-day 24th", "09:00Z", "23:00Z"}),
        # 02:00 on the 24th in Los Angeles; its "today" is 08:00 UTC 24th to 08:00 UTC 25th.
        (
            "America/Los_Angeles",
            {"all-day 23rd", "09:00Z"},
            {"all-day 24th", "09:00Z", "23:00Z"},
        ),
    ],
)
def test_overdue_and_due_today_follow_the_time_zone(
    session: Session, zone: str, overdue: set[str], due_today: set[str]
) -> None:
    user = _user(session, zone)
    dues: dict[str, date | datetime] = {
        "all-day 23rd": date(2026, 11, 23),
        "all-day 24th": date(2026, 11, 24),
        "all-day 25th": date(2026, 11, 25),
        "09:00Z": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        "23:00Z": datetime(2026, 11, 24, 23, 0, tzinfo=UTC),
    }
    names = {}
    for name, due in dues.items():
        view = task_service.create_task(
            session=session, user_id=user.id, task_in=TaskCreate(title=name, due=due)
        )
        names[view.task.id] = name
    done = task_service.create_task(
        session=session,
        user_id=user.id,
        task_in=TaskCreate(title="done", due=date(2000, 1, 1), completed=True),
    )
    names[done.task.id] = "done"
    views, _ = task_service.list_tasks(
        session=session, user_id=user.id, query=TaskQuery(overdue=True), zone=zone, now=NOW
    )
    assert {names[v.task.id] for v in views} == overdue
    views, _ = task_service.list_tasks(
        session=session, user_id=user.id, query=TaskQuery(overdue=False), zone=zone, now=NOW
    )
    assert {names[v.task.id] for v in views} == set(names.values()) - overdue
    stats = task_service.task_stats(session=session, user_id=user.id, zone=zone, now=NOW)
    assert stats.overdue == len(overdue)
    assert stats.due_today == len(due_today)

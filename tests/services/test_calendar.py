"""The calendar stream: keyset pages that neither skip nor repeat a task, whatever the page
size, and a document that a second parser reads whole (issue 20)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import vobject
from sqlmodel import Session

from app.core.icalendar_render import Flavour
from app.models import Task, User
from app.services import calendar as calendar_service
from app.services import lists as list_service

SAME_MOMENT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _user(session: Session) -> User:
    user = User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")
    session.add(user)
    session.flush()
    return user


def _tasks(session: Session, user: User, count: int) -> list[Task]:
    inbox = list_service.ensure_inbox(session=session, user_id=user.id)
    made = []
    for index in range(count):
        # Every third task shares its creation moment with the one before: the keyset's tie
        # on created_at is broken by the id.
        created = SAME_MOMENT + timedelta(seconds=index - index % 3)
        task = Task(
            user_id=user.id,
            title=f"Task {index}",
            list_id=inbox,
            created_at=created,
            updated_at=created,
            due_date=(created + timedelta(days=index)).date() if index % 2 else None,
            due_sort=None,
        )
        if task.due_date is not None:
            task.due_sort = datetime.combine(task.due_date, datetime.min.time(), UTC)
        made.append(task)
    session.add_all(made)
    session.flush()
    return made


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 100])
def test_pages_cover_every_task_once_in_order(session: Session, page_size: int) -> None:
    user, other = _user(session), _user(session)
    made = _tasks(session, user, 11)
    _tasks(session, other, 3)
    seen = list(calendar_service.iter_tasks(session=session, user_id=user.id, page_size=page_size))
    assert [task.id for task in seen] == [
        task.id for task in sorted(made, key=lambda t: (t.created_at, str(t.id)))
    ]
    assert len({task.id for task in seen}) == len(made) == len(seen)
    dated = list(
        calendar_service.iter_tasks(
            session=session, user_id=user.id, dated_only=True, page_size=page_size
        )
    )
    assert {task.id for task in dated} == {task.id for task in made if task.due_date}


def test_the_stream_is_one_calendar(session: Session) -> None:
    user = _user(session)
    made = _tasks(session, user, 7)
    chunks = list(
        calendar_service.iter_calendar(
            session=session, user_id=user.id, zone="America/New_York", flavour=Flavour.todo
        )
    )
    assert chunks[0].startswith(b"BEGIN:VCALENDAR\r\n")
    assert chunks[-1] == b"END:VCALENDAR\r\n"
    calendar = vobject.readOne(b"".join(chunks).decode())
    assert {todo.uid.value for todo in calendar.vtodo_list} == {f"{t.id}@tasks-api" for t in made}
    events = b"".join(
        calendar_service.iter_calendar(
            session=session, user_id=user.id, zone="UTC", flavour=Flavour.events
        )
    )
    assert b"BEGIN:VTIMEZONE" not in events
    assert len(vobject.readOne(events.decode()).vevent_list) == 3

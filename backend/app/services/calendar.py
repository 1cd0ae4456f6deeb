"""A user's tasks as an iCalendar stream (RFC 5545), for the calendar feeds and the export.

`iter_calendar` yields the calendar in chunks of bytes. It reads the tasks a page at a time by
keyset on (created_at, id), each page with its tags and then its reminders in one more query,
so memory stays bounded by one page whatever the account holds. Every query is scoped by
user_id; tasks in the trash and tasks of archived lists never appear. core.icalendar_render
writes the components.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, or_, select
from sqlmodel import Session, col

from app.core.icalendar_render import (
    CALENDAR_END,
    CalendarReminder,
    CalendarTask,
    Flavour,
    calendar_head,
    render_task,
)
from app.database import bind_session_to_user
from app.models import Tag, TaskTag
from app.models.task import TASKS
from app.schemas.values import tag_key
from app.services import tasks as task_service
from app.services.reminders import REMINDERS
from app.services.task_filters import visible_conditions
from app.services.tasks import ShownTask

# Tasks read per query: large enough that a 100,000-task account is 200 round trips, small
# enough that a page and its rendering stay a few megabytes.
PAGE_SIZE = 500
# The VTIMEZONE covers the dues from a year before the earliest to this many years after
# the latest (or today): recurring series go on past their current due.
ZONE_YEARS_AHEAD = 10


@cache
def _page_statement(dialect: str, lists: int, tags: int, dated: bool, after: bool) -> Any:
    """One page of the feed's tasks with their tag names, in (created_at, id) order."""
    user: BindParameter[uuid.UUID] = bindparam("user_id")
    where: list[ColumnElement[bool]] = visible_conditions(
        user, [bindparam(f"list_{i}", type_=TASKS.c.list_id.type) for i in range(lists)], False
    )
    if tags:
        tagged = (
            select(col(TaskTag.task_id))
            .join(Tag, and_(col(Tag.id) == TaskTag.tag_id, col(Tag.user_id) == TaskTag.user_id))
            .where(
                col(Tag.user_id) == user,
                col(Tag.name_key).in_([bindparam(f"tag_{i}") for i in range(tags)]),
            )
        )
        where.append(TASKS.c.id.in_(tagged))
    if dated:
        where.append(TASKS.c.due_sort.is_not(None))
    if after:
        seen_at = bindparam("after_created_at", type_=TASKS.c.created_at.type)
        seen_id = bindparam("after_id", type_=TASKS.c.id.type)
        where.append(
            or_(
                TASKS.c.created_at > seen_at,
                and_(TASKS.c.created_at == seen_at, TASKS.c.id > seen_id),
            )
        )
    return (
        select(*task_service.view_columns(dialect))
        .where(*where)
        .order_by(TASKS.c.created_at, TASKS.c.id)
        .limit(bindparam("page_size"))
    )


def _reminders(
    session: Session, user_id: uuid.UUID, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CalendarReminder]]:
    found: dict[uuid.UUID, list[CalendarReminder]] = defaultdict(list)
    if not task_ids:
        return found
    rows = session.execute(
        select(REMINDERS.c.task_id, REMINDERS.c.at, REMINDERS.c.before, REMINDERS.c.time)
        .where(REMINDERS.c.user_id == user_id, REMINDERS.c.task_id.in_(task_ids))
        .order_by(REMINDERS.c.created_at, REMINDERS.c.id)
    ).all()
    for task_id, at, before, at_time in rows:
        found[task_id].append(CalendarReminder(at=at, before=before, time=at_time))
    return found


def _due_range(session: Session, user_id: uuid.UUID, today: date) -> tuple[date, date]:
    """The dates the VTIMEZONE must cover: the user's dues, and some years ahead."""
    earliest, latest = session.execute(
        select(func.min(TASKS.c.due_sort), func.max(TASKS.c.due_sort)).where(
            TASKS.c.user_id == user_id, TASKS.c.deleted_at.is_(None)
        )
    ).one()
    first = min(earliest.date(), today) if earliest is not None else today
    last = max(latest.date(), today) if latest is not None else today
    return (
        date(max(first.year - 1, 1970), 1, 1),
        date(min(last.year + ZONE_YEARS_AHEAD, 9998), 1, 1),
    )


def iter_tasks(
    *,
    session: Session,
    user_id: uuid.UUID,
    list_ids: Sequence[uuid.UUID] = (),
    tags: Sequence[str] = (),
    dated_only: bool = False,
    page_size: int = PAGE_SIZE,
) -> Iterator[CalendarTask]:
    """The user's tasks for a calendar, oldest first, a page at a time: not in the trash, not
    in an archived list, in one of `list_ids` and carrying one of `tags` when given."""
    bind_session_to_user(session, user_id)
    dialect = session.get_bind().dialect.name
    keys = sorted({tag_key(name) for name in tags})
    params: dict[str, Any] = {"user_id": user_id, "page_size": page_size}
    params.update({f"list_{i}": list_id for i, list_id in enumerate(list_ids)})
    params.update({f"tag_{i}": key for i, key in enumerate(keys)})
    after = False
    while True:
        statement = _page_statement(dialect, len(list_ids), len(keys), dated_only, after)
        rows = session.execute(statement, params).all()
        views = [task_service.view_of(row) for row in rows]
        reminders = _reminders(session, user_id, [view.task.id for view in views])
        for view in views:
            task = view.task
            assert isinstance(task, ShownTask)  # noqa: S101 - view_columns reads ShownTask rows
            yield CalendarTask(
                id=task.id,
                title=task.title,
                description=task.description,
                completed=task.completed,
                completed_at=task.completed_at,
                priority=task.priority,
                due_date=task.due_date,
                due_at=task.due_at,
                created_at=task.created_at,
                updated_at=task.updated_at,
                recurrence=task.recurrence,
                recurrence_done=task.recurrence_done,
                recurrence_time=task.recurrence_time,
                parent_id=task.parent_id,
                tags=view.tags,
                reminders=reminders.get(task.id, []),
            )
        if len(rows) < page_size:
            return
        last = views[-1].task
        params["after_created_at"] = last.created_at
        params["after_id"] = last.id
        after = True


def iter_calendar(
    *,
    session: Session,
    user_id: uuid.UUID,
    zone: str,
    flavour: Flavour = Flavour.todo,
    name: str = "Tasks",
    list_ids: Sequence[uuid.UUID] = (),
    tags: Sequence[str] = (),
    today: date | None = None,
) -> Iterator[bytes]:
    """The user's tasks as one iCalendar document, in chunks of bytes (a few kilobytes
    each): VTODOs, or with `Flavour.events` a VEVENT per dated task. `zone` is the user's
    time zone (users.timezone). Holds one page of tasks in memory at a time.

    The caller owns the session: the statements run in its transaction, bound to user_id for
    row-level security."""
    bind_session_to_user(session, user_id)
    first, last = _due_range(session, user_id, today or datetime.now(UTC).date())
    yield calendar_head(name=name, zone=zone, first=first, last=last)
    chunk: list[bytes] = []
    size = 0
    for task in iter_tasks(
        session=session,
        user_id=user_id,
        list_ids=list_ids,
        tags=tags,
        dated_only=flavour is Flavour.events,
    ):
        rendered = render_task(task, flavour=flavour, zone=zone)
        chunk.append(rendered)
        size += len(rendered)
        if size >= 64 * 1024:  # fewer, larger writes for the response
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)
    yield CALENDAR_END

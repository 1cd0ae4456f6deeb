"""Tags: created on the fly from names, attached to tasks, listed with counts, renamed, deleted.

Every query is scoped by user_id; the composite foreign keys on task_tags make a link between
one user's task and another user's tag impossible in the database itself.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.core.errors import PreconditionFailed, TagNameTaken, TagNotFound
from app.core.etags import Expected, version_matches
from app.models import Tag, Task, TaskTag
from app.models.base import utcnow
from app.models.task import TASKS
from app.schemas.values import tag_key
from app.services import outbox


class TagCounts(NamedTuple):
    id: uuid.UUID
    name: str
    created_at: datetime
    open_tasks: int
    total_tasks: int
    version: int


def _insert_ignoring_existing(session: Session, rows: list[dict[str, Any]]) -> None:
    # ON CONFLICT DO NOTHING on the (user_id, name_key) key: a concurrent request creating the
    # same name neither fails nor duplicates it; the re-read below finds whichever row won.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(Tag).values(rows)
        session.execute(pg_stmt.on_conflict_do_nothing(index_elements=["user_id", "name_key"]))
    elif dialect == "sqlite":
        lite_stmt = sqlite.insert(Tag).values(rows)
        session.execute(lite_stmt.on_conflict_do_nothing(index_elements=["user_id", "name_key"]))
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(dialect)


def resolve_tags(*, session: Session, user_id: uuid.UUID, names: Sequence[str]) -> list[Tag]:
    """The user's tags for these names, creating the missing ones (first spelling wins)."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(tag_key(name), name)
    if not wanted:
        return []

    def existing() -> dict[str, Tag]:
        rows = session.scalars(
            select(Tag).where(col(Tag.user_id) == user_id, col(Tag.name_key).in_(wanted))
        )
        return {tag.name_key: tag for tag in rows}

    found = existing()
    # Sorted, so concurrent requests take the unique-key locks in one order (no deadlock).
    missing = sorted(key for key in wanted if key not in found)
    if missing:
        now = utcnow()
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "name": wanted[key],
                "name_key": key,
                "created_at": now,
            }
            for key in missing
        ]
        _insert_ignoring_existing(session, rows)
        found = existing()
        # The rows that won (a concurrent request may have made the same name first).
        made = {row["id"] for row in rows}
        for tag in found.values():
            if tag.id in made:
                created = TagCounts(tag.id, tag.name, tag.created_at, 0, 0, tag.version)
                _announce(session, user_id, "tag.created", created)
    return sorted(found.values(), key=lambda tag: (tag.name_key, str(tag.id)))


def set_task_tags(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, names: Sequence[str]
) -> list[str]:
    """Replace the task's tags (no commit; the caller commits with the task)."""
    tags = resolve_tags(session=session, user_id=user_id, names=names)
    session.execute(
        delete(TaskTag).where(col(TaskTag.task_id) == task_id, col(TaskTag.user_id) == user_id)
    )
    if tags:
        session.execute(
            insert(TaskTag).values(
                [{"task_id": task_id, "tag_id": tag.id, "user_id": user_id} for tag in tags]
            )
        )
    return [tag.name for tag in tags]


def tag_names_for_tasks(
    *, session: Session, user_id: uuid.UUID, task_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """Tag names per task for a whole page of tasks, in one query."""
    ids = list(task_ids)
    names: dict[uuid.UUID, list[str]] = {task_id: [] for task_id in ids}
    if not ids:
        return names
    # Core execution on the session's connection: plain rows, no ORM bookkeeping.
    rows = session.connection().execute(
        select(col(TaskTag.task_id), col(Tag.name))
        .join(Tag, and_(col(Tag.id) == TaskTag.tag_id, col(Tag.user_id) == TaskTag.user_id))
        .where(col(TaskTag.user_id) == user_id, col(TaskTag.task_id).in_(ids))
        .order_by(col(TaskTag.task_id), col(Tag.name_key), col(Tag.id))
    )
    for task_id, name in rows:
        names[task_id].append(name)
    return names


def _counts_query(user_id: uuid.UUID) -> Any:
    return (
        select(
            col(Tag.id),
            col(Tag.name),
            col(Tag.created_at),
            func.count(col(Task.id)).filter(col(Task.completed).is_(False)),
            func.count(col(Task.id)),
            col(Tag.version),
        )
        .select_from(Tag)
        .outerjoin(
            TaskTag, and_(col(TaskTag.tag_id) == Tag.id, col(TaskTag.user_id) == Tag.user_id)
        )
        .outerjoin(
            Task,
            and_(
                col(Task.id) == TaskTag.task_id,
                col(Task.user_id) == Tag.user_id,
                # Tasks in the trash do not count.
                col(Task.deleted_at).is_(None),
            ),
        )
        .where(col(Tag.user_id) == user_id)
        .group_by(
            col(Tag.id), col(Tag.name), col(Tag.created_at), col(Tag.name_key), col(Tag.version)
        )
        .order_by(col(Tag.name_key), col(Tag.id))
    )


def list_tags(*, session: Session, user_id: uuid.UUID) -> list[TagCounts]:
    """Every tag of the user with its open and total task counts, by name: one query."""
    return [TagCounts(*row) for row in session.execute(_counts_query(user_id))]


def get_tag(*, session: Session, user_id: uuid.UUID, tag_id: uuid.UUID) -> TagCounts | None:
    row = session.execute(_counts_query(user_id).where(col(Tag.id) == tag_id)).first()
    return TagCounts(*row) if row is not None else None


def _new_versions_for_tagged_tasks(session: Session, user_id: uuid.UUID, tag_id: uuid.UUID) -> None:
    """Renaming or deleting a tag changes how every task carrying it looks: each gets a new
    version (so a new ETag, and an If-Match sent before the change fails)."""
    tagged = select(col(TaskTag.task_id)).where(
        col(TaskTag.tag_id) == tag_id, col(TaskTag.user_id) == user_id
    )
    session.execute(
        update(TASKS)
        .where(TASKS.c.user_id == user_id, TASKS.c.id.in_(tagged))
        .values(version=TASKS.c.version + 1)
    )


def _locked(session: Session, user_id: uuid.UUID, tag_id: uuid.UUID, expected: Expected) -> Tag:
    """The user's tag, locked until the transaction ends (PostgreSQL; SQLite's write
    transaction holds the database), so If-Match's check and the write are one step:
    TagNotFound, or PreconditionFailed when If-Match names another version."""
    statement = select(Tag).where(col(Tag.id) == tag_id, col(Tag.user_id) == user_id)
    tag = session.scalars(statement.with_for_update()).first()
    if tag is None:
        raise TagNotFound
    if not version_matches(tag.version, expected):
        session.rollback()
        raise PreconditionFailed(tag.version, "tag")
    return tag


def rename_tag(
    *,
    session: Session,
    user_id: uuid.UUID,
    tag_id: uuid.UUID,
    name: str,
    expected: Expected = None,
) -> TagCounts:
    tag = _locked(session, user_id, tag_id, expected)
    # Before the rename is pending: an autoflush here would raise its IntegrityError early.
    _new_versions_for_tagged_tasks(session, user_id, tag_id)
    tag.name = name
    tag.name_key = tag_key(name)
    tag.version += 1
    session.add(tag)
    try:
        if outbox.has_subscriptions(session=session, user_id=user_id):
            session.flush()  # the unique key decides before the event is written
            renamed = get_tag(session=session, user_id=user_id, tag_id=tag_id)
            _announce(session, user_id, "tag.updated", renamed)
        session.commit()
    except IntegrityError as exc:
        # The unique (user_id, name_key) key decides, so a concurrent rename cannot slip by.
        session.rollback()
        raise TagNameTaken from exc
    counts = get_tag(session=session, user_id=user_id, tag_id=tag_id)
    if counts is None:  # pragma: no cover - deleted between the commit and this read
        raise TagNotFound
    return counts


def delete_tag(
    *, session: Session, user_id: uuid.UUID, tag_id: uuid.UUID, expected: Expected = None
) -> None:
    """Remove the tag from every task (ON DELETE CASCADE); the tasks stay."""
    if expected is not None:
        _locked(session, user_id, tag_id, expected)
    _new_versions_for_tagged_tasks(session, user_id, tag_id)
    subscribed = outbox.has_subscriptions(session=session, user_id=user_id)
    before = get_tag(session=session, user_id=user_id, tag_id=tag_id) if subscribed else None
    result = session.execute(delete(Tag).where(col(Tag.id) == tag_id, col(Tag.user_id) == user_id))
    if not getattr(result, "rowcount", 0):
        session.rollback()
        raise TagNotFound
    _announce(session, user_id, "tag.deleted", before)
    session.commit()


def _announce(session: Session, user_id: uuid.UUID, type: str, tag: TagCounts | None) -> None:
    """Queue a tag event (webhooks), the tag as the API shows it, in the open transaction."""
    if tag is not None:
        outbox.record_event(session=session, user_id=user_id, type=type, data=tag._asdict())

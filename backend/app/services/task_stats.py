"""The stats document: task counts and tag counts together, as every adapter shows them."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from app.schemas.task_query import CountPair, TagCount, TaskStats
from app.services import tags as tag_service
from app.services import tasks as task_service


def stats_document(
    *,
    session: Session,
    user_id: uuid.UUID,
    zone: str,
    now: datetime | None = None,
    list_ids: Sequence[uuid.UUID] = (),
    archived: bool = False,
) -> TaskStats:
    """Counts of the user's tasks (open, completed, overdue, due today, by priority; only in
    `list_ids` if given, archived lists' only with `archived`) and of their tags: two
    aggregate queries."""
    stats = task_service.task_stats(
        session=session,
        user_id=user_id,
        zone=zone,
        now=now,
        list_ids=list_ids,
        archived=archived,
    )
    tags = tag_service.list_tags(session=session, user_id=user_id)
    return TaskStats(
        total=stats.total,
        open=stats.total - stats.completed,
        completed=stats.completed,
        overdue=stats.overdue,
        due_today=stats.due_today,
        by_priority={
            priority: CountPair(open=open_, total=total)
            for priority, (open_, total) in stats.by_priority.items()
        },
        by_tag=[
            TagCount(id=tag.id, name=tag.name, open=tag.open_tasks, total=tag.total_tasks)
            for tag in tags
        ],
    )

"""Readable MCP resources: the user's agenda, as JSON task lists."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import Resource
from sqlmodel import Session

from app.core.callers import Caller
from app.mcp.scopes import TASKS_READ
from app.schemas.task import TaskPublic
from app.schemas.task_query import TaskQuery
from app.services import agenda
from app.services import tasks as task_service
from app.services.tasks import TaskView

Document = dict[str, Any]


@dataclass(frozen=True)
class ResourceSpec:
    uri: str
    name: str
    description: str
    scopes: tuple[str, ...]
    read: Callable[[Session, Caller], Document]

    def resource(self) -> Resource:
        return Resource(
            uri=self.uri,
            name=self.name,
            description=self.description,
            mime_type="application/json",
        )


def _items(views: list[TaskView]) -> Document:
    return {"items": [TaskPublic.from_task(v.task, v.tags).model_dump(mode="json") for v in views]}


def today(session: Session, caller: Caller) -> Document:
    return _items(agenda.due_today(session=session, user_id=caller.id, zone=caller.timezone))


# The listing's own `overdue` filter, soonest due first: the first page of what
# list_tasks(overdue=true, sort="due") returns.
_OVERDUE = TaskQuery(overdue=True, sort="due", limit=agenda.MAX_AGENDA_ITEMS)


def overdue(session: Session, caller: Caller) -> Document:
    views, _ = task_service.list_tasks(
        session=session, user_id=caller.id, query=_OVERDUE, zone=caller.timezone
    )
    return _items(views)


RESOURCES: dict[str, ResourceSpec] = {
    spec.uri: spec
    for spec in (
        ResourceSpec(
            uri="tasks://today",
            name="today",
            description="Open tasks due today in the user's time zone (at most 100), "
            "soonest first.",
            scopes=(TASKS_READ,),
            read=today,
        ),
        ResourceSpec(
            uri="tasks://overdue",
            name="overdue",
            description="Open tasks past due (at most 100), longest overdue first.",
            scopes=(TASKS_READ,),
            read=overdue,
        ),
    )
}

"""MCP tools for lists (issue 16): as GET and POST /api/v1/lists, through the same service."""

from sqlmodel import Session

from app.core.callers import Caller
from app.mcp.arguments import Arguments
from app.schemas.mcp import ListList, ListsArguments
from app.schemas.task_list import ListCreate, ListPublic
from app.services import lists as list_service

Document = dict[str, object]


def list_lists(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = ListsArguments.model_validate(arguments)
    lists = list_service.list_lists(session=session, user_id=caller.id, archived=parsed.archived)
    found = [ListPublic(**task_list._asdict()) for task_list in lists]
    return ListList(lists=found).model_dump(mode="json")


def add_list(session: Session, caller: Caller, arguments: Arguments) -> Document:
    list_in = ListCreate.model_validate(arguments)
    task_list = list_service.create_list(session=session, user_id=caller.id, list_in=list_in)
    return ListPublic(**task_list._asdict()).model_dump(mode="json")

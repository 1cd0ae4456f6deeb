"""The scope check every tool and resource passes through (app.mcp.scopes)."""

import uuid
from dataclasses import dataclass

import pytest

from app.core.callers import Caller
from app.mcp.resources import RESOURCES
from app.mcp.scopes import SUPPORTED, TAGS_READ, TASKS_READ, InsufficientScope, require_scopes
from app.mcp.server import problem_of
from app.mcp.tools import TOOLS


@dataclass(frozen=True, slots=True)
class ScopedCaller(Caller):
    """A caller whose token is limited to some scopes, as a personal access token will be."""

    scopes: frozenset[str] = frozenset()


def caller(**extra: object) -> Caller:
    fields = {
        "id": uuid.uuid4(),
        "email": "ada@example.com",
        "timezone": "UTC",
        "auth_subject": None,
        "auth_issuer": None,
        "token_version": 0,
    }
    if extra:
        return ScopedCaller(**fields, **extra)  # type: ignore[arg-type]
    return Caller(**fields)  # type: ignore[arg-type]


def test_an_unlimited_token_may_call_every_tool() -> None:
    for spec in TOOLS.values():
        require_scopes(caller(), spec.scopes)


def test_every_tool_and_resource_declares_supported_scopes() -> None:
    for spec in [*TOOLS.values(), *RESOURCES.values()]:
        assert spec.scopes, spec
        assert set(spec.scopes) <= set(SUPPORTED), spec


def test_a_read_only_token_may_read_and_not_write() -> None:
    reader = caller(scopes=frozenset({TASKS_READ, TAGS_READ}))
    allowed = {name for name, spec in TOOLS.items() if _allows(reader, spec.scopes)}
    assert allowed == {
        "list_tasks",
        "search_tasks",
        "get_task",
        "list_tags",
        "task_stats",
        "list_reminders",
        "upcoming_reminders",
    }
    lists_reader = caller(scopes=frozenset({"lists:read"}))
    assert {name for name, spec in TOOLS.items() if _allows(lists_reader, spec.scopes)} == {
        "list_lists"
    }
    with pytest.raises(InsufficientScope) as refused:
        require_scopes(reader, TOOLS["add_task"].scopes)
    assert refused.value.missing == ["tasks:write"]


def test_a_token_without_scopes_may_do_nothing() -> None:
    nothing = caller(scopes=frozenset())
    assert not [name for name, spec in TOOLS.items() if _allows(nothing, spec.scopes)]


def test_task_stats_needs_both_read_scopes() -> None:
    with pytest.raises(InsufficientScope):
        require_scopes(caller(scopes=frozenset({TASKS_READ})), TOOLS["task_stats"].scopes)


def test_the_refusal_is_a_403_problem() -> None:
    with pytest.raises(InsufficientScope) as refused:
        require_scopes(caller(scopes=frozenset({TASKS_READ})), TOOLS["delete_task"].scopes)
    problem = problem_of(refused.value, ctx=None)  # type: ignore[arg-type]
    assert problem == {
        "type": "/problems/insufficient-scope",
        "title": "Insufficient scope",
        "status": 403,
        "detail": "This token does not grant tasks:write; use a token that does.",
    }


def _allows(who: Caller, scopes: tuple[str, ...]) -> bool:
    try:
        require_scopes(who, scopes)
    except InsufficientScope:
        return False
    return True

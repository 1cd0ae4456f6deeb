"""What a failing call becomes (app.mcp.server.problem_of): the REST problem, never the
exception's own text."""

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.errors import RateLimited, TaskNotFound
from app.mcp.server import error_result, problem_of

NO_REQUEST: Any = SimpleNamespace(request=None)


def test_an_unexpected_error_is_a_500_without_its_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="app.mcp"):
        problem = problem_of(RuntimeError("SELECT * FROM users -- secret"), NO_REQUEST)
    assert problem["status"] == 500
    assert "secret" not in str(problem)
    assert "SELECT" not in error_result(problem).content[0].text
    assert "secret" in caplog.text  # the log has it, for whoever operates the server


def test_the_request_id_is_quoted_over_http() -> None:
    request = SimpleNamespace(scope={"state": {"request_id": "abc123"}})
    problem = problem_of(ValueError("boom"), SimpleNamespace(request=request))
    assert problem["request_id"] == "abc123"


def test_a_database_outage_is_a_503() -> None:
    outage = PoolTimeout("QueuePool limit reached")
    problem = problem_of(outage, NO_REQUEST)
    assert problem["status"] == 503
    assert problem["type"] == "/problems/database-unavailable"


def test_domain_errors_keep_their_problem() -> None:
    assert problem_of(TaskNotFound(), NO_REQUEST) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Task not found.",
    }
    limited = problem_of(RateLimited(retry_after=7), NO_REQUEST)
    assert limited["status"] == 429
    assert limited["retry_after"] == 7
    assert error_result(limited).content[0].text.endswith("Retry after 7 seconds.")

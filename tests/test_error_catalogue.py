"""The error catalogue (docs/reference/errors.md) lists exactly the problem types the app can
produce, each with the statuses it comes with.

The app's side is read from the code, not from a list kept beside it: every `DomainError`
subclass in app.core.errors, and every `problem_response(...)` call in backend/app whose status
is a literal. Types are also collected from every "/problems/..." string in the app, so a new
type cannot hide in a call with a computed status.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from app.core import errors
from tests.live import PROJECT_ROOT

CATALOGUE = PROJECT_ROOT / "docs" / "reference" / "errors.md"
APP = PROJECT_ROOT / "backend" / "app"
ROW = re.compile(r"^\| `(?P<type>[^`]+)` \| (?P<status>\d{3}) \|", re.MULTILINE)


def catalogue() -> set[tuple[str, int]]:
    return {(m["type"], int(m["status"])) for m in ROW.finditer(CATALOGUE.read_text())}


def domain_errors(cls: type[errors.DomainError] = errors.DomainError) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from domain_errors(sub)


def app_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(APP.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def problem_calls() -> set[tuple[str, int]]:
    """(type, status) of every problem_response call with a literal status."""
    found = set()
    for _, tree in app_modules():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "problem_response"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                continue
            type_ = "about:blank"
            for keyword in node.keywords:
                if keyword.arg == "type_" and isinstance(keyword.value, ast.Constant):
                    type_ = keyword.value.value
            found.add((type_, node.args[0].value))
    return found


def problem_type_strings() -> set[str]:
    return {
        node.value
        for path, tree in app_modules()
        if path.name != "openapi.py"  # its examples quote types, they do not produce them
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"/problems/[a-z-]+|about:blank", node.value)
    }


def test_every_domain_error_is_in_the_catalogue() -> None:
    listed = catalogue()
    missing = {
        (cls.__name__, cls.type_, cls.status)
        for cls in domain_errors()
        if (cls.type_, cls.status) not in listed
    }
    assert missing == set(), f"add these to {CATALOGUE.name}: {missing}"


def test_every_literal_problem_response_is_in_the_catalogue() -> None:
    calls = problem_calls()
    assert ("/problems/validation-error", 422) in calls  # the walk finds the handlers
    assert calls - catalogue() == set()


def test_the_catalogue_lists_only_types_the_app_produces() -> None:
    listed_types = {type_ for type_, _ in catalogue()}
    produced = problem_type_strings() | {cls.type_ for cls in domain_errors()}
    assert listed_types == produced

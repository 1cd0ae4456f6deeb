"""Filters, search, sorts and keyset pagination of GET /api/v1/tasks, checked against a
reference computed in Python from what the API returned."""

import functools
import random
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from app.schemas.common import OPAQUE_PATTERN
from app.schemas.task_query import MAX_CURSOR_LENGTH
from tests.factories import Account, assert_problem, make_account, make_task

LEVELS = {"none": 0, "low": 1, "medium": 2, "high": 3}
TITLES = ["Alpha", "alpha", "beta", "Gamma invoice", "invoice invoice", "zeta", "Beta", "mu"]
DESCRIPTIONS = [
    None,
    "Pay the invoice for March",
    "call the bank",
    "Invoice-42: paid?",
    "nothing to see",
    "bank holiday INVOICE",
]
TAG_POOL = ["work", "Home", "urgent", "later"]


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z0-9]+", text)}


def _due_key(task: dict[str, Any]) -> datetime | None:
    due = task["due"]
    if due is None:
        return None
    if len(due) == 10:
        return datetime.combine(date.fromisoformat(due), datetime.min.time(), UTC)
    return datetime.fromisoformat(due)


def _sort_value(task: dict[str, Any], field: str) -> Any:
    if field in ("created_at", "updated_at"):
        return datetime.fromisoformat(task[field])
    if field == "due":
        return _due_key(task)
    if field == "priority":
        return LEVELS[task["priority"]]
    if field == "title":
        return task["title"].lower()
    return task["id"]


def expected_order(tasks: list[dict[str, Any]], sort: str) -> list[str]:
    keys = [(part.lstrip("-"), part.startswith("-")) for part in sort.split(",")]
    keys.append(("id", keys[-1][1]))

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for field, descending in keys:
            va, vb = _sort_value(a, field), _sort_value(b, field)
            if va == vb:
                continue
            if va is None or vb is None:  # no due date: last in both directions
                return 1 if va is None else -1
            result = -1 if va < vb else 1
            return -result if descending else result
        return 0

    return [task["id"] for task in sorted(tasks, key=functools.cmp_to_key(compare))]


def _bound(value: str, *, after: bool) -> datetime:
    if len(value) == 10:
        day = date.fromisoformat(value) + timedelta(days=1 if after else 0)
        return datetime.combine(day, datetime.min.time(), UTC)
    return datetime.fromisoformat(value)


def matches(task: dict[str, Any], params: dict[str, Any], now: datetime) -> bool:
    if "completed" in params and task["completed"] != (params["completed"] == "true"):
        return False
    if "priority" in params and task["priority"] not in params["priority"]:
        return False
    task_tags = {tag.lower() for tag in task["tags"]}
    if any(tag.lower() not in task_tags for tag in params.get("tag", [])):
        return False
    if "q" in params and not _words(params["q"]) <= _words(
        f"{task['title']} {task['description'] or ''}"
    ):
        return False
    due = _due_key(task)
    if "due_before" in params and (
        due is None or not due < _bound(params["due_before"], after=False)
    ):
        return False
    if "due_after" in params:
        bound = _bound(params["due_after"], after=True)
        ok = due is not None and (due >= bound if len(params["due_after"]) == 10 else due > bound)
        if not ok:
            return False
    if "overdue" in params:
        overdue = (
            not task["completed"]
            and due is not None
            and (
                date.fromisoformat(task["due"]) < now.date()
                if len(task["due"]) == 10
                else due < now
            )
        )
        if overdue != (params["overdue"] == "true"):
            return False
    if "has_due" in params and (due is not None) != (params["has_due"] == "true"):
        return False
    if "created_after" in params and not datetime.fromisoformat(
        task["created_at"]
    ) > datetime.fromisoformat(params["created_after"]):
        return False
    return not (
        "updated_after" in params
        and not datetime.fromisoformat(task["updated_at"])
        > datetime.fromisoformat(params["updated_after"])
    )


def walk(client: TestClient, account: Account, params: dict[str, Any], limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/tasks", params=query, headers=account.headers)
        assert response.status_code == 200, (params, response.text)
        page = response.json()
        assert len(page["items"]) <= limit
        seen.extend(task["id"] for task in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


@pytest.fixture
def owner(client: TestClient) -> Account:
    return make_account(client)


@pytest.fixture
def library(client: TestClient, owner: Account) -> list[dict[str, Any]]:
    """About thirty varied tasks of the owner (and some of another user, never listed)."""
    rng = random.Random(42)
    today = datetime.now(UTC).date()
    now = datetime.now(UTC).replace(microsecond=0)
    dues: list[str | None] = [None, None, None]
    dues += [(today + timedelta(days=d)).isoformat() for d in (-3, -1, 0, 0, 1, 5)]
    dues += [
        (now + timedelta(hours=h)).isoformat().replace("+00:00", "Z") for h in (-50, -3, 4, 30)
    ]
    dues.append((now + timedelta(hours=-6)).astimezone().isoformat())
    dues.append(datetime.combine(today, datetime.min.time(), UTC).isoformat())  # same key as date
    created = []
    for i in range(30):
        fields: dict[str, Any] = {
            "title": TITLES[i % len(TITLES)],
            "description": rng.choice(DESCRIPTIONS),
            "priority": rng.choice(list(LEVELS)),
            "due": rng.choice(dues),
            "tags": rng.sample(TAG_POOL, rng.randint(0, 3)),
            "completed": rng.random() < 0.3,
        }
        created.append(make_task(client, owner, **fields))
    # Touch a few so updated_at differs from created_at order.
    for task in rng.sample(created, 6):
        response = client.patch(
            f"/api/v1/tasks/{task['id']}", json={"priority": "high"}, headers=owner.headers
        )
        assert response.status_code == 200
    intruder = make_account(client)
    for i in range(5):
        make_task(client, intruder, title=f"invoice {i}", tags=["work"], due="2000-01-01")
    everything = walk(client, owner, {}, 100)
    assert len(everything) == 30
    tasks = [
        client.get(f"/api/v1/tasks/{task_id}", headers=owner.headers).json()
        for task_id in everything
    ]
    return tasks


SORTS = [
    "-created_at",
    "created_at",
    "updated_at",
    "-updated_at",
    "due",
    "-due",
    "priority",
    "-priority",
    "title",
    "-title",
    "-priority,due",
    "due,-priority,title",
    "title,-due",
    "priority,-updated_at",
]


@pytest.mark.parametrize("limit", [4, 7])
def test_every_sort_pages_through_in_order(
    client: TestClient, owner: Account, library: list[dict[str, Any]], limit: int
) -> None:
    for sort in SORTS:
        seen = walk(client, owner, {"sort": sort}, limit)
        assert seen == expected_order(library, sort), sort


def test_filters_alone_and_combined_page_through_in_order(
    client: TestClient, owner: Account, library: list[dict[str, Any]]
) -> None:
    by_created = sorted(library, key=lambda t: t["created_at"])
    middle = by_created[len(by_created) // 2]
    today = datetime.now(UTC).date()
    cases: list[dict[str, Any]] = [
        {"completed": "true"},
        {"completed": "false"},
        {"priority": ["high"]},
        {"priority": ["low", "none"]},
        {"tag": ["work"]},
        {"tag": ["WORK", "home"]},
        {"tag": ["missing"]},
        {"q": "invoice"},
        {"q": "INVOICE paid"},
        {"q": "bank"},
        {"due_before": today.isoformat()},
        {"due_after": today.isoformat()},
        {"due_before": (today + timedelta(days=2)).isoformat(), "due_after": "2000-01-01"},
        {"due_after": datetime.now(UTC).isoformat().replace("+00:00", "Z")},
        {"overdue": "true"},
        {"overdue": "false"},
        {"has_due": "true"},
        {"has_due": "false"},
        {"created_after": middle["created_at"]},
        {"updated_after": middle["created_at"]},
        {"completed": "false", "tag": ["work"], "sort": "due"},
        {"priority": ["high", "medium"], "has_due": "true", "sort": "-due,title"},
        {"q": "invoice", "completed": "false", "sort": "-priority,created_at"},
        {"overdue": "true", "tag": ["urgent"], "sort": "-due"},
        {"q": "invoice", "sort": "title"},
    ]
    now = datetime.now(UTC)
    for params in cases:
        sort = params.get("sort", "-created_at")
        wanted = [t for t in library if matches(t, params, now)]
        seen = walk(client, owner, params, 3)
        assert seen == expected_order(wanted, sort), params


def test_relevance_ranks_better_matches_first(client: TestClient, owner: Account) -> None:
    weak = make_task(
        client,
        owner,
        title="Quarterly notes",
        description="a long text that mentions the invoice once among many other words here",
    )
    strong = make_task(client, owner, title="invoice invoice", description="invoice")
    make_task(client, owner, title="unrelated")
    params = {"q": "invoice", "sort": "-relevance"}
    assert walk(client, owner, params, 1) == [strong["id"], weak["id"]]
    assert walk(client, owner, {"q": "invoice", "sort": "relevance"}, 1) == [
        weak["id"],
        strong["id"],
    ]


def test_relevance_pages_through_ties(
    client: TestClient, owner: Account, library: list[dict[str, Any]]
) -> None:
    for _ in range(6):  # identical texts: equal scores, ordered by id
        make_task(client, owner, title="same invoice text")
    params = {"q": "invoice", "sort": "-relevance"}
    first = walk(client, owner, params, 100)
    assert walk(client, owner, params, 2) == first
    assert len(first) == len(set(first))
    expected = {t["id"] for t in library if matches(t, {"q": "invoice"}, datetime.now(UTC))}
    assert expected < set(first)


def test_tag_filter_is_case_insensitive_and_ignores_other_users(
    client: TestClient, owner: Account
) -> None:
    other = make_account(client)
    make_task(client, other, tags=["work"])
    mine = make_task(client, owner, tags=["Work"])
    page = client.get("/api/v1/tasks?tag=WORK", headers=owner.headers).json()
    assert [t["id"] for t in page["items"]] == [mine["id"]]


def test_search_treats_words_the_same_on_both_databases(client: TestClient, owner: Account) -> None:
    task = make_task(client, owner, title="Re: Invoice #2026-11 (draft)", description="ÉTÉ plan")
    for q in ("invoice", "INVOICE draft", "2026", "11", "été", "re invoice"):
        ids = [
            t["id"]
            for t in client.get("/api/v1/tasks", params={"q": q}, headers=owner.headers).json()[
                "items"
            ]
        ]
        assert ids == [task["id"]], q
    for q in ("invoic", "drafts", "invoice missing"):
        items = client.get("/api/v1/tasks", params={"q": q}, headers=owner.headers).json()
        assert items["items"] == [], q


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("sort=color", "sort"),
        ("sort=", "sort"),
        ("sort=due,%20title", "sort"),  # the contract's pattern has no spaces
        ("sort=--due", "sort"),
        ("sort=due,", "sort"),
        ("priority=urgent", "priority"),
        ("due_before=2026-02-30", "due_before"),
        ("due_after=2026-12-01T10:00:00", "due_after"),
        ("created_after=yesterday", "created_after"),
        ("updated_after=2026-12-01T10:00:00", "updated_after"),
        ("overdue=maybe", "overdue"),
        ("has_due=2", "has_due"),
        ("completed=perhaps", "completed"),
        ("q=", "q"),
        ("q=%21%21%21", "q"),
        ("tag=" + "x" * 51, "tag"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
    ],
)
def test_invalid_parameters_are_422_naming_them(
    client: TestClient, owner: Account, query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/tasks?{query}", headers=owner.headers)
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][:2] == ["query", parameter]
    assert parameter in body["detail"]


def test_relevance_with_q_is_accepted(client: TestClient, owner: Account) -> None:
    response = client.get("/api/v1/tasks?q=x&sort=-relevance", headers=owner.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("sort", "same_as"),
    [
        ("-created_at,created_at", "-created_at"),
        ("title,-title,due,title", "title,due"),
        ("relevance", "-created_at"),
        ("-relevance,priority,relevance", "priority"),
        ("title,relevance,-due", "title,-due"),
    ],
)
def test_repeated_keys_and_relevance_without_q_have_no_effect(
    client: TestClient, owner: Account, library: list[dict[str, Any]], sort: str, same_as: str
) -> None:
    # Every value of the contract's sort pattern is accepted: a repeated key adds nothing (its
    # first occurrence decides) and relevance orders nothing without a search.
    assert walk(client, owner, {"sort": sort}, 7) == expected_order(library, same_as)
    # The same order is the same query: a cursor of one spelling serves the other.
    page = client.get("/api/v1/tasks", params={"sort": same_as, "limit": 3}, headers=owner.headers)
    response = client.get(
        "/api/v1/tasks",
        params={"sort": sort, "limit": 3, "cursor": page.json()["next_cursor"]},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("cursor", ["!!!", "a b", "abc=", "x" * (MAX_CURSOR_LENGTH + 1)])
def test_cursor_not_of_the_published_form_is_422(
    client: TestClient, owner: Account, cursor: str
) -> None:
    response = client.get("/api/v1/tasks", params={"cursor": cursor}, headers=owner.headers)
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "title",
    [
        # The longest title in JSON: characters that each take six bytes (control characters
        # are escaped as \u00XX)...
        "w" + "\x01" * 254,
        # ...and astral ones, four bytes in UTF-8 but twelve as \u escapes.
        "w " + "\U0001f984" * 253,
    ],
)
def test_longest_cursor_fits_the_published_form(
    client: TestClient, owner: Account, title: str
) -> None:
    # Every sort key at once, with the longest values each can have.
    due = "2026-12-01T17:00:00.123456+01:00"
    for _ in range(2):
        make_task(client, owner, title=title, description="w", due=due)
    sort = "title,due,created_at,updated_at,priority,-relevance"
    page = client.get(
        "/api/v1/tasks", params={"q": "w", "sort": sort, "limit": 1}, headers=owner.headers
    ).json()
    cursor = page["next_cursor"]
    assert len(cursor) > 1500, "the cursor should carry the whole title"
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert re.fullmatch(OPAQUE_PATTERN, cursor)
    response = client.get(
        "/api/v1/tasks",
        params={"q": "w", "sort": sort, "limit": 1, "cursor": cursor},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "changed",
    [
        {"sort": "title"},
        {"priority": ["high"]},
        {"tag": ["work"]},
        {"q": "alpha"},
        {"has_due": "true"},
    ],
)
def test_cursor_reused_with_other_filter_or_sort_is_400(
    client: TestClient, owner: Account, library: list[dict[str, Any]], changed: dict[str, Any]
) -> None:
    page = client.get("/api/v1/tasks", params={"limit": 2}, headers=owner.headers).json()
    response = client.get(
        "/api/v1/tasks",
        params={"limit": 2, **changed, "cursor": page["next_cursor"]},
        headers=owner.headers,
    )
    body = assert_problem(response, 400)
    assert body["type"] == "/problems/invalid-cursor"


def test_cursor_survives_reordered_repeated_parameters(
    client: TestClient, owner: Account, library: list[dict[str, Any]]
) -> None:
    first = client.get(
        "/api/v1/tasks?tag=work&tag=home&priority=high&priority=low&limit=1",
        headers=owner.headers,
    ).json()
    if first["next_cursor"] is None:
        pytest.fail("the library should have several matching tasks")
    second = client.get(
        "/api/v1/tasks",
        params={
            "tag": ["Home", "WORK"],
            "priority": ["low", "high"],
            "limit": 1,
            "cursor": first["next_cursor"],
        },
        headers=owner.headers,
    )
    assert second.status_code == 200


def _count_queries(engine: Engine, call: Callable[[], Any]) -> int:
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Transaction bookkeeping and its settings (PostgreSQL) are not queries.
        skipped = ("SAVEPOINT", "RELEASE", "ROLLBACK", "SELECT SET_CONFIG")
        if not statement.lstrip().upper().startswith(skipped):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return len(statements)


def test_a_page_costs_the_same_queries_whatever_its_size(
    client: TestClient, owner: Account, engine: Engine
) -> None:
    make_task(client, owner, tags=["a"])

    def page() -> None:
        response = client.get("/api/v1/tasks?sort=due&tag=a", headers=owner.headers)
        assert response.status_code == 200

    one = _count_queries(engine, page)
    for i in range(20):
        make_task(client, owner, title=f"t{i}", tags=["a", f"t{i}", "b"])
    twenty_one = _count_queries(engine, page)
    # The page with every task's tags, and nothing else: no query per task, and none for the
    # user either (the requests before made this process remember the token's account).
    assert one == twenty_one == 1


def test_a_task_comes_with_its_tags_in_one_statement(
    client: TestClient, owner: Account, engine: Engine
) -> None:
    task = make_task(client, owner, tags=["beta", "Alpha", "gamma"])
    response = None

    def get() -> None:
        nonlocal response
        response = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)

    # The task with its tags; the user is known from the request that created the task.
    assert _count_queries(engine, get) == 1
    assert response is not None
    assert response.status_code == 200
    assert response.json()["tags"] == ["Alpha", "beta", "gamma"]

"""On PostgreSQL with 120,000 tasks over 2,000 users, the listing queries the app really sends
use indexes and never scan the whole tasks table: for a typical user (about 50 tasks) and for
a heavy one (20,000 tasks, where the specialised indexes must carry the query).

The rows are seeded with INSERT ... SELECT from generate_series into a throwaway database,
then ANALYZEd, so the planner decides with realistic statistics.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app import migrate
from app.database import PREPARE_OPTION, SETTINGS_SQL, normalize_database_url
from app.schemas.task_query import TaskQuery
from app.services import calendar as calendar_service
from app.services import tasks as task_service
from app.services import trash as trash_service
from tests.conftest import ThrowawayPostgres
from tests.sql_recorder import recording

USERS = 2_000
TASKS = 120_000
HEAVY, LIGHT = 8, 9  # user numbers: every sixth task is the heavy user's
OWNER = "CASE WHEN g % 6 = 0 THEN md5('user' || :heavy) ELSE md5('user' || (g % :users)) END"
# Every task in its owner's Inbox, but every twelfth (a half of the heavy user's) in "Work".
LIST = (
    "CASE WHEN g % 12 = 0 THEN md5('work') WHEN g % 6 = 0 THEN md5('inbox' || :heavy) "
    "ELSE md5('inbox' || (g % :users)) END"
)
PARAMS = {"users": USERS, "tasks": TASKS, "heavy": HEAVY}

SEED = [
    """
    INSERT INTO users (id, email, hashed_password, token_version, timezone, created_at,
                       updated_at)
    SELECT md5('user' || u)::uuid, 'user' || u || '@example.com', 'x', 0, 'UTC', now(), now()
    FROM generate_series(0, :users - 1) AS u
    """,
    """
    INSERT INTO lists (id, user_id, name, name_key, position, archived, inbox, created_at,
                       updated_at)
    SELECT md5('inbox' || u)::uuid, md5('user' || u)::uuid, 'Inbox', 'inbox', 0, false, true,
           now(), now()
    FROM generate_series(0, :users - 1) AS u
    """,
    """
    INSERT INTO lists (id, user_id, name, name_key, position, archived, inbox, created_at,
                       updated_at)
    VALUES (md5('work')::uuid, md5('user' || :heavy)::uuid, 'Work', 'work', 1, false, false,
            now(), now())
    """,
    """
    INSERT INTO tags (id, user_id, name, name_key, created_at)
    SELECT md5('tag' || u || '-' || k)::uuid, md5('user' || u)::uuid, 'tag' || k, 'tag' || k,
           now()
    FROM generate_series(0, :users - 1) AS u, generate_series(0, 4) AS k
    """,
    """
    INSERT INTO tasks (id, user_id, title, description, completed, completed_at, priority,
                       due_date, due_at, due_sort, created_at, updated_at, list_id,
                       deleted_at, parent_id, position)
    SELECT md5('task' || g)::uuid,
           (OWNER)::uuid,
           'Task ' || g || ' ' || (ARRAY['groceries', 'report', 'call', 'plan'])[1 + g % 4],
           CASE WHEN g % 600 = 0 THEN 'send the invoice' ELSE 'notes for task ' || g END,
           g % 3 = 0,
           CASE WHEN g % 3 = 0 THEN now() END,
           g % 4,
           CASE WHEN g % 4 = 1 THEN current_date + (g % 60) END,
           CASE WHEN g % 4 = 2 THEN now() + (g % 90) * interval '1 hour' END,
           CASE WHEN g % 4 = 1 THEN (current_date + (g % 60))::timestamp AT TIME ZONE 'UTC'
                WHEN g % 4 = 2 THEN now() + (g % 90) * interval '1 hour' END,
           now() - g * interval '1 minute',
           now() - g * interval '1 minute',
           (LIST)::uuid,
           CASE WHEN g % 1000 = 12 THEN now() - g * interval '1 second' END,
           -- Every 24th task from the 36th (the heavy user's, in "Work") is a subtask.
           CASE WHEN g % 24 = 12 AND g > 12 THEN md5('task' || (g - 12))::uuid END,
           -- A valid fractional-index key ("f" and six digits), in the order of g.
           'f' || lpad(g::text, 6, '0')
    FROM generate_series(1, :tasks) AS g
    """,
    """
    INSERT INTO task_tags (task_id, tag_id, user_id)
    SELECT md5('task' || g)::uuid,
           md5('tag' || (CASE WHEN g % 6 = 0 THEN :heavy ELSE g % :users END) || '-'
               || ((g / 7) % 5))::uuid,
           (OWNER)::uuid
    FROM generate_series(1, :tasks) AS g
    """,
    """
    INSERT INTO tags (id, user_id, name, name_key, created_at)
    VALUES (md5('rare')::uuid, md5('user' || :heavy)::uuid, 'rare', 'rare', now())
    """,
    """
    INSERT INTO task_tags (task_id, tag_id, user_id)
    SELECT md5('task' || g)::uuid, md5('rare')::uuid, md5('user' || :heavy)::uuid
    FROM generate_series(6, :tasks, 4000 * 6) AS g
    """,
    "ANALYZE",
]


@pytest.fixture(scope="module")
def seeded_engine(throwaway_postgres: ThrowawayPostgres) -> Iterator[Engine]:
    url = throwaway_postgres.create()
    migrate.upgrade(url)
    engine = create_engine(normalize_database_url(url))
    with engine.begin() as connection:
        for statement in SEED:
            sql = statement.replace("OWNER", OWNER).replace("LIST", LIST)
            connection.execute(text(sql), PARAMS)
    yield engine
    engine.dispose()


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _explain_listing(engine: Engine, user: int, query: TaskQuery) -> list[dict[str, Any]]:
    """EXPLAIN the page query list_tasks sends for `query`."""

    def listing(session: Session, user_id: Any) -> list[Any]:
        views, _ = task_service.list_tasks(session=session, user_id=user_id, query=query)
        return views

    return _explain(engine, user, listing)


def _explain(
    engine: Engine, user: int, call: Callable[[Session, Any], list[Any]]
) -> list[dict[str, Any]]:
    """EXPLAIN the page query that `call` (a listing) sends."""
    with engine.connect() as connection:
        user_id = connection.execute(
            text("SELECT md5('user' || :n)::uuid"), {"n": user}
        ).scalar_one()
    sending = engine.execution_options(**{PREPARE_OPTION: True})
    with recording(engine) as sent, Session(sending) as session:
        views = call(session, user_id)
    assert views, "the seeded user should have matching tasks"
    statement, parameters = next(sent_pair for sent_pair in sent if "FROM tasks" in sent_pair[0])
    # database.run sends the transaction settings in the same call, before the query. A
    # listing is never a prepared statement: its best plan depends on the values (a generic
    # plan for a keyword search skips the search index), so it is planned on every call.
    settings, statement = statement.split("; ")
    assert settings == SETTINGS_SQL
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0][0]["Plan"]
    finally:
        raw.close()
    return list(_plan_nodes(plan))


INDEX_ACCESS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def _scans(nodes: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    assert not [s for s in scans if s[0] == "Seq Scan" and s[1] in ("tasks", "task_tags")], scans
    return scans


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "index"),
    [
        (TaskQuery(), "ix_tasks_user_id_created_at_id"),
        (TaskQuery(completed=False), "ix_tasks_user_id_created_at_id"),
        (TaskQuery(sort="due"), "ix_tasks_user_id_due_sort_id"),
        # Newest tasks first, each checked through task_tags' primary key (the planner
        # cannot know how common the tag is; it cannot see the tag's id in advance).
        (TaskQuery(tag=["tag3"]), "pk_task_tags"),
        (TaskQuery(tag=["rare"]), "pk_task_tags"),
        (TaskQuery(q="invoice"), "ix_tasks_search"),
        (
            # md5('work') as a uuid: the heavy user's "Work" list.
            TaskQuery.model_validate({"list": ["67e92c87-65a9-bc7f-b2d3-35c459de9eb5"]}),
            "ix_tasks_user_id_list_id_created_at_id",
        ),
        (TaskQuery(parent="none"), "ix_tasks_user_id_created_at_id"),
        # md5('task24'): a task of the heavy user with one subtask.
        (
            TaskQuery(parent="174645e9-4b2d-5cd8-5ff4-f9462b78f8b6"),
            "ix_tasks_user_id_parent_id_created_at_id",
        ),
        # The manual order of a list's top level, and of one task's subtasks.
        (
            TaskQuery.model_validate(
                {
                    "list": ["67e92c87-65a9-bc7f-b2d3-35c459de9eb5"],
                    "parent": "none",
                    "sort": "position",
                }
            ),
            "ix_tasks_user_id_list_id_parent_id_position_id",
        ),
        (
            TaskQuery(parent="174645e9-4b2d-5cd8-5ff4-f9462b78f8b6", sort="position"),
            "ix_tasks_user_id_parent_id_created_at_id",
        ),
    ],
    ids=[
        "default",
        "open",
        "due",
        "common-tag",
        "rare-tag",
        "search",
        "list",
        "top",
        "children",
        "list-order",
        "children-order",
    ],
)
def test_heavy_user_listings_use_their_indexes(
    seeded_engine: Engine, query: TaskQuery, index: str
) -> None:
    scans = _scans(_explain_listing(seeded_engine, HEAVY, query))
    assert index in {name for _, _, name in scans}, scans
    assert "ix_tasks_search" in {name for _, _, name in scans} or query.q is None, scans


@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [
        TaskQuery(),
        TaskQuery(completed=False),
        TaskQuery(sort="due"),
        TaskQuery(tag=["tag3"]),
        TaskQuery(q="notes"),
    ],
    ids=["default", "open", "due", "tag", "search"],
)
def test_typical_user_listings_use_an_index(seeded_engine: Engine, query: TaskQuery) -> None:
    scans = _scans(_explain_listing(seeded_engine, LIGHT, query))
    # With ~50 tasks any index that leads to them will do; the planner picks by cost.
    tasks_access = [scan for scan in scans if scan[1] == "tasks"]
    assert tasks_access, scans
    assert all(kind in INDEX_ACCESS for kind, _, _ in tasks_access), scans


@pytest.mark.slow
def test_the_heavy_users_trash_uses_its_index(seeded_engine: Engine) -> None:
    # One task in a thousand is in the trash (40 of the heavy user's 20,000).
    def trash(session: Session, user_id: Any) -> list[Any]:
        page, _ = trash_service.list_trash(session=session, user_id=user_id, limit=50, cursor=None)
        return page

    scans = _scans(_explain(seeded_engine, HEAVY, trash))
    assert "ix_tasks_user_id_deleted_at_id" in {name for _, _, name in scans}, scans


@pytest.mark.slow
def test_a_prepared_task_read_uses_the_primary_key_whatever_the_values(
    seeded_engine: Engine,
) -> None:
    """The single-task statements run prepared (database.run(prepare=True)); their generic
    plan, the one PostgreSQL may keep for any values, finds the task by a unique index on
    its id."""
    with seeded_engine.connect() as connection:
        user_id, task_id = connection.execute(
            text(
                "SELECT user_id, id FROM tasks WHERE user_id = md5('user' || :n)::uuid"
                " AND deleted_at IS NULL LIMIT 1"
            ),
            {"n": HEAVY},
        ).one()
    sending = seeded_engine.execution_options(**{PREPARE_OPTION: True})
    with recording(seeded_engine) as sent, Session(sending) as session:
        task_service.get_task_view(session=session, user_id=user_id, task_id=task_id)
    statement, parameters = sent[-1]
    prepare, _, execute = statement.split("; ")
    assert prepare.startswith("PREPARE ")
    raw = seeded_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            f"SET plan_cache_mode = force_generic_plan; {prepare}; EXPLAIN (FORMAT JSON) {execute}",
            parameters,
        )
        plan = cursor.fetchone()[0][0]["Plan"]
    finally:
        raw.invalidate()  # it holds a prepared statement and a changed setting
    scans = _scans(list(_plan_nodes(plan)))
    tasks_access = {(kind, index) for kind, table, index in scans if table == "tasks"}
    assert tasks_access <= {("Index Scan", "pk_tasks"), ("Index Scan", "uq_tasks_id_user_id")}
    assert tasks_access, scans


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_tasks_user_id_created_at_id"),
        ({"dated_only": True}, "ix_tasks_user_id_created_at_id"),
        # md5('work') as a uuid: the heavy user's "Work" list.
        (
            {"list_ids": [uuid.UUID("67e92c87-65a9-bc7f-b2d3-35c459de9eb5")]},
            "ix_tasks_user_id_list_id_created_at_id",
        ),
    ],
    ids=["all", "dated", "list"],
)
def test_the_heavy_users_calendar_pages_use_their_indexes(
    seeded_engine: Engine, filters: dict[str, Any], index: str
) -> None:
    """A calendar feed or `ics` export reads the account in keyset pages (services.calendar):
    the second page, after a cursor, too, is an index range, never a scan of the table."""
    with seeded_engine.connect() as connection:
        user_id = connection.execute(
            text("SELECT md5('user' || :n)::uuid"), {"n": HEAVY}
        ).scalar_one()
    with recording(seeded_engine) as sent, Session(seeded_engine) as session:
        pages = calendar_service.iter_tasks(
            session=session, user_id=user_id, page_size=100, **filters
        )
        for _ in range(150):  # into the second page
            next(pages)
    statement, parameters = next(
        pair for pair in sent if "FROM tasks" in pair[0] and "after_created_at" in pair[0]
    )
    raw = seeded_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0][0]["Plan"]
    finally:
        raw.close()
    scans = _scans(list(_plan_nodes(plan)))
    assert index in {name for _, _, name in scans}, scans

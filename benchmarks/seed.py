"""Bulk seeding for the benchmark: SQL that generates rows in the database, never the API.

Users get deterministic ids (`md5('bench-user-<i>')` as a UUID) so the runner can mint their
tokens without reading the table back. Tasks are seeded in stages (the runner measures the
listing scenarios after each stage), always for whole users, so a user's list never changes
size between stages: only the table around it grows.
"""

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

# One dummy Argon2 hash for every seeded user: nobody logs in with a password here.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0YmVuY2g$Zm9vYmFyYmF6cXV4cXV1eA"


def user_id(index: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"bench-user-{index}".encode(), usedforsecurity=False).hexdigest())


@dataclass(frozen=True)
class Block:
    """`count` tasks for each user in [first, last)."""

    first: int
    last: int
    count: int

    @property
    def tasks(self) -> int:
        return (self.last - self.first) * self.count


def seed_users(conn: Connection, users: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                """
                INSERT INTO users (id, email, name, hashed_password, token_version,
                                   created_at, updated_at)
                SELECT md5('bench-user-' || i)::uuid, 'bench-user-' || i || '@bench.example',
                       'Bench user ' || i, :hash, 0, now(), now()
                FROM generate_series(0, :users - 1) AS i
                """
            ),
            {"hash": DUMMY_HASH, "users": users},
        )
        _seed_inboxes(conn)
        return
    rows = [
        {
            "id": user_id(i).hex,
            "email": f"bench-user-{i}@bench.example",
            "name": f"Bench user {i}",
            "hash": DUMMY_HASH,
        }
        for i in range(users)
    ]
    conn.execute(
        text(
            "INSERT INTO users (id, email, name, hashed_password, token_version, created_at,"
            " updated_at) VALUES (:id, :email, :name, :hash, 0, datetime('now'), datetime('now'))"
        ),
        rows,
    )
    _seed_inboxes(conn)


def _seed_inboxes(conn: Connection) -> None:
    """Every account has an Inbox (schemas with lists, revision 0010 on)."""
    if "id" not in _columns(conn, "lists"):
        return
    if conn.dialect.name == "postgresql":
        new_id, now = "gen_random_uuid()", "now()"
    else:
        new_id, now = "lower(hex(randomblob(16)))", "datetime('now')"
    conn.execute(
        text(
            "INSERT INTO lists (id, user_id, name, name_key, position, archived, inbox,"
            f" created_at, updated_at) SELECT {new_id}, id, 'Inbox', 'inbox', 0, false, true,"
            f" {now}, {now} FROM users WHERE id NOT IN (SELECT user_id FROM lists WHERE inbox)"
        )
    )


def _pg_task_sql(columns: set[str]) -> str:
    # Every third task has a description, a quarter are completed; creation times are spread
    # over the past year so the newest-first index has real work to do.
    extra_cols, extra_vals = "", ""
    if "priority" in columns:  # 0..3: none, low, medium, high
        extra_cols += ", priority"
        extra_vals += ", ((n + u) % 4)::smallint"
    if {"due_at", "due_date", "due_sort"} <= columns:
        # A third timed (due_at), a third all-day (due_date), a third without a due date;
        # due_sort is what the service derives from them (all-day: midnight UTC).
        due_at = "now() + ((n * 7919 + u) % 720 - 120) * interval '1 hour'"
        due_date = "current_date + ((n * 7919 + u) % 60 - 10)"
        extra_cols += ", due_at, due_date, due_sort"
        extra_vals += (
            f", CASE WHEN n % 3 = 1 THEN {due_at} END"
            f", CASE WHEN n % 3 = 2 THEN {due_date} END"
            f", CASE WHEN n % 3 = 1 THEN {due_at}"
            f" WHEN n % 3 = 2 THEN ({due_date})::timestamp AT TIME ZONE 'UTC' END"
        )
    if "list_id" in columns:  # every task in its owner's Inbox
        extra_cols += ", list_id"
        extra_vals += (
            ", (SELECT l.id FROM lists AS l"
            " WHERE l.user_id = md5('bench-user-' || u)::uuid AND l.inbox)"
        )
    if "position" in columns:  # the manual order: the n-th task n-th (a valid key, "f" + 6 digits)
        extra_cols += ", position"
        extra_vals += ", 'f' || lpad(n::text, 6, '0')"
    # Only fixed column names are spliced in; every value is a bind parameter.
    return f"""
        INSERT INTO tasks (id, user_id, title, description, completed, completed_at,
                           created_at, updated_at{extra_cols})
        SELECT gen_random_uuid(), md5('bench-user-' || u)::uuid,
               (ARRAY['Send','Review','Plan','Call','Write','Fix'])[1 + n % 6]
                   || ' ' || (ARRAY['invoice','report','meeting','release','budget','roadmap'])
                   [1 + (n * 7 + u) % 6] || ' ' || n,
               CASE WHEN n % 3 = 0 THEN 'Notes for task ' || n || ' of user ' || u END,
               n % 4 = 0,
               CASE WHEN n % 4 = 0 THEN now() - (n % 500) * interval '1 hour' END,
               now() - ((n::bigint * 104729 + u) % 525600) * interval '1 minute',
               now() - (n % 1000) * interval '1 minute'{extra_vals}
        FROM generate_series(:first, :last - 1) AS u, generate_series(1, :count) AS n
    """


TAG_NAMES = ("work", "home", "errands", "later", "reading")

# Five tags per user; every task gets one, half of them a second.
_PG_TAGS_SQL = """
    INSERT INTO tags (id, user_id, name, name_key, created_at)
    SELECT gen_random_uuid(), md5('bench-user-' || u)::uuid, t.name, t.name, now()
    FROM generate_series(:first, :last - 1) AS u, unnest(CAST(:names AS text[])) AS t(name)
"""
_PG_TASK_TAGS_SQL = """
    INSERT INTO task_tags (task_id, tag_id, user_id)
    SELECT t.id, g.id, t.user_id
    FROM tasks AS t
    JOIN tags AS g ON g.user_id = t.user_id
    WHERE t.user_id IN (SELECT md5('bench-user-' || u)::uuid
                        FROM generate_series(:first, :last - 1) AS u)
      AND (get_byte(uuid_send(t.id), 0) % 5 = array_position(CAST(:names AS text[]), g.name) - 1
           OR get_byte(uuid_send(t.id), 1) % 10
              = array_position(CAST(:names AS text[]), g.name) - 1)
"""


def _sqlite_task_sql(columns: set[str]) -> str:
    # Priorities when the schema has them; due dates and tags are seeded on PostgreSQL only.
    priority_col, priority_val = (
        (", priority", ", (n + u) % 4") if "priority" in columns else ("", "")
    )
    if "list_id" in columns:  # every task in its owner's Inbox
        priority_col += ", list_id"
        priority_val += ", (SELECT l.id FROM lists AS l WHERE l.user_id = bu.id AND l.inbox)"
    if "position" in columns:  # the manual order: the n-th task n-th (a valid key)
        priority_col += ", position"
        priority_val += ", 'f' || substr('000000' || n, -6, 6)"
    return f"""
        WITH RECURSIVE us(u) AS (SELECT :first UNION ALL SELECT u + 1 FROM us WHERE u + 1 < :last),
        ns(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM ns WHERE n < :count)
        INSERT INTO tasks (id, user_id, title, description, completed, completed_at,
                           created_at, updated_at{priority_col})
        SELECT lower(hex(randomblob(16))), bu.id, 'Task ' || n,
               CASE WHEN n % 3 = 0 THEN 'Notes for task ' || n END,
               n % 4 = 0,
               CASE WHEN n % 4 = 0 THEN strftime('%Y-%m-%d %H:%M:%f', 'now') END,
               strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((n * 104729 + u) % 525600)
                        || ' minutes'),
               strftime('%Y-%m-%d %H:%M:%f', 'now'){priority_val}
        FROM us JOIN bench_user_ids AS bu ON bu.i = us.u, ns
    """


def _task_columns(conn: Connection) -> set[str]:
    return _columns(conn, "tasks")


def _columns(conn: Connection, table: str) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
            {"t": table},
        )
        return {row[0] for row in rows}
    return {row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))}


def seed_tasks(conn: Connection, blocks: Iterable[Block]) -> int:
    total = 0
    tagged = False
    if conn.dialect.name == "postgresql":
        sql = text(_pg_task_sql(_task_columns(conn)))
        tagged = _has_table(conn, "task_tags")
    else:
        conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS bench_user_ids (i INTEGER, id TEXT)"))
        sql = text(_sqlite_task_sql(_task_columns(conn)))
    for block in blocks:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM bench_user_ids"))
            conn.execute(
                text("INSERT INTO bench_user_ids VALUES (:i, :id)"),
                [{"i": i, "id": user_id(i).hex} for i in range(block.first, block.last)],
            )
        params = {"first": block.first, "last": block.last, "count": block.count}
        conn.execute(sql, params)
        if tagged:
            conn.execute(text(_PG_TAGS_SQL), {**params, "names": list(TAG_NAMES)})
            conn.execute(text(_PG_TASK_TAGS_SQL), {**params, "names": list(TAG_NAMES)})
        total += block.tasks
    return total


def _has_table(conn: Connection, name: str) -> bool:
    found = conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}).scalar()
    return bool(found)


def analyze(conn: Connection) -> None:
    conn.execute(text("ANALYZE"))

"""The change feed: a snapshot of the user's tasks, lists and tags, then what changed since.

The log (`changes`, migration 0016) is written by database triggers in the transaction of
each change. A position in it is `(txid, seq)`; a cursor says "every change at or before this
position has been handed out". On PostgreSQL a change is handed out only once its
transaction id is below the reading statement's snapshot xmin (or is the reader's own): every
transaction that could still commit a change ordered before it has ended, so a later read
never finds one behind the cursor (specs/2-backend-api/research.md, "Change feed cursor").
On SQLite writers take the one write lock for their whole transaction, so `seq` is already
commit order (`txid` is 0).

A page holds each object once, at its last change in the page, with its state as it is now
(a task, list or tag) or a tombstone (gone, or a task in the trash). Reading the state later
than the change is safe: anything changed since is in the log after the cursor too, so the
client sees it again; replaying a page is harmless.

Every query is scoped by user_id (and row-level security on PostgreSQL).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlmodel import Session, col

from app.models import Change, Tag, TaskList
from app.models.base import utcnow
from app.models.task import TASKS
from app.services.change_cursors import (
    END_OF_TRANSACTION,
    KINDS,
    Cursor,
    Position,
    decode,
    encode,
    stream_cursor,
)
from app.services.change_documents import DELETED_AT, LOADERS, object_entry, tombstone_entry
from app.services.idempotency import PURGE_SETTING
from app.services.tasks import view_columns

__all__ = ["KINDS", "Cursor", "Position", "decode", "encode", "stream_cursor"]

ALL_KINDS = frozenset(KINDS)
# The scope a personal access token needs to see each kind (the feed's route needs tasks:read).
KIND_SCOPES = {"task": "tasks:read", "list": "lists:read", "tag": "tags:read"}


@dataclass(frozen=True)
class Page:
    changes: list[dict[str, Any]]
    cursor: str
    has_more: bool
    reset: bool
    # PostgreSQL: committed changes after the cursor wait for an older transaction to end;
    # a live stream reads again shortly (services.events).
    held_back: bool = False
    # Each entry's own cursor (an event stream's SSE `id`s).
    entry_cursors: tuple[str, ...] = ()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# PostgreSQL: the first transaction id that may not be handed out yet (the "gate"). Every
# transaction below it that could write this database's log has ended, and (read committed)
# the next statement's snapshot, taken after this one, sees all its rows. It is the smallest
# id among the transactions still running *in this database* (their id locks, by the
# backends connected here), else the snapshot's xmax. Not `pg_snapshot_xmin` alone: that is
# the oldest transaction of the whole server, and a long one in another database would hold
# the feed back. A lock whose backend's database is unknown (a prepared transaction, a
# backend newer than pg_stat_activity's view) counts as ours: later, never lost. The reading
# transaction's own id counts too (tests write and read in one transaction).
_GATE = text(
    """
    WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s)
    SELECT least(pg_current_xact_id_if_assigned()::text::bigint, coalesce(
        (
            SELECT min(xip::text::bigint)
            FROM snap, pg_snapshot_xip(snap.s) AS xip
            WHERE xip::text::bigint % 4294967296 IN (
                SELECT l.transactionid::text::bigint
                FROM pg_locks AS l LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
                WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
                  AND (a.datid IS NULL OR a.datname = current_database())
            )
        ),
        (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
    ))
    """
)
# Rows of the reading transaction itself (only tests write and read in one transaction).
_OWN = literal_column("pg_current_xact_id_if_assigned()::text::bigint", Integer)


def _gate(session: Session) -> int | None:
    """The gate on PostgreSQL (one statement before the read); None on SQLite."""
    if _dialect(session) != "postgresql":
        return None
    return int(session.execute(_GATE).scalar_one())


def _released(dialect: str) -> ColumnElement[bool]:
    if dialect != "postgresql":
        return literal(True)
    txid = col(Change.txid)
    return or_(txid < bindparam("gate", type_=Integer), txid == _OWN)


def _after(position_param: str = "after") -> ColumnElement[bool]:
    return tuple_(col(Change.txid), col(Change.seq)) > tuple_(
        bindparam(f"{position_param}_txid", type_=Integer),
        bindparam(f"{position_param}_seq", type_=Integer),
    )


@cache
def _log_statement(dialect: str, kinds: frozenset[str]) -> Any:
    return (
        select(
            col(Change.txid),
            col(Change.seq),
            col(Change.kind),
            col(Change.object_id),
            col(Change.op),
            col(Change.changed_at),
        )
        .where(
            col(Change.user_id) == bindparam("user_id"),
            _after(),
            _released(dialect),
            *([] if kinds == ALL_KINDS else [col(Change.kind).in_(sorted(kinds))]),
        )
        .order_by(col(Change.txid), col(Change.seq))
        .limit(bindparam("page_limit"))
    )


@cache
def _held_back_statement(dialect: str) -> Any:
    released = _released(dialect)
    return select(
        select(col(Change.seq))
        .where(col(Change.user_id) == bindparam("user_id"), _after(), ~released)
        .exists()
    )


def head(*, session: Session, user_id: uuid.UUID) -> Position:
    """The position after every change handed out now: where a stream that wants only what
    happens from now on starts."""
    gate = _gate(session)
    if gate is not None:
        return Position(gate - 1, END_OF_TRANSACTION)
    last = session.execute(
        select(func.max(col(Change.seq))).where(col(Change.user_id) == user_id)
    ).scalar_one()
    return Position(0, int(last or 0))


def read_changes(
    *,
    session: Session,
    user_id: uuid.UUID,
    after: Position,
    limit: int,
    kinds: frozenset[str] = ALL_KINDS,
    check_held_back: bool = False,
) -> tuple[list[dict[str, Any]], list[Position], list[str], bool, bool]:
    """Up to `limit` log rows after `after`, as entries (one per object): (entries, each
    entry's position, each entry's op, has_more, held_back)."""
    dialect = _dialect(session)
    gate = _gate(session)
    rows = session.execute(
        _log_statement(dialect, kinds),
        {
            "user_id": user_id,
            "after_txid": after.txid,
            "after_seq": after.seq,
            "page_limit": limit + 1,
            "gate": gate,
        },
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    # The last change of each object in the page, in log order; `created` wins over a
    # later `updated` so a stream says task.created for a task it never saw.
    last: dict[tuple[str, uuid.UUID], Any] = {}
    created: set[tuple[str, uuid.UUID]] = set()
    for row in rows:
        key = (row.kind, row.object_id)
        last.pop(key, None)
        last[key] = row
        if row.op == "created":
            created.add(key)
    states: dict[str, dict[uuid.UUID, Any]] = {}
    for kind in KINDS:
        ids = [object_id for (k, object_id) in last if k == kind]
        states[kind] = LOADERS[kind](session, user_id, ids) if ids else {}
    entries: list[dict[str, Any]] = []
    positions: list[Position] = []
    ops: list[str] = []
    for key, row in last.items():
        kind, object_id = key
        value = states[kind].get(object_id)
        trashed_at = value[DELETED_AT] if kind == "task" and value is not None else None
        if value is None or trashed_at is not None:
            entries.append(tombstone_entry(kind, object_id, trashed_at or row.changed_at))
            ops.append("deleted")
        else:
            entries.append(object_entry(kind, value))
            ops.append("created" if key in created else "updated")
        positions.append(Position(row.txid, row.seq))
    held_back = False
    if check_held_back and not has_more and dialect == "postgresql":
        end = positions[-1] if positions else after
        held_back = bool(
            session.execute(
                _held_back_statement(dialect),
                {"user_id": user_id, "after_txid": end.txid, "after_seq": end.seq, "gate": gate},
            ).scalar_one()
        )
    return entries, positions, ops, has_more, held_back


def _snapshot_page(
    session: Session,
    user_id: uuid.UUID,
    state: tuple[int, str | None],
    limit: int,
    kinds: frozenset[str],
) -> tuple[list[dict[str, Any]], tuple[int, str | None] | None]:
    """Up to `limit` live objects after `state` (kind index, last id); the next state, or
    None when the snapshot is complete."""
    kind_index, last_id = state
    entries: list[dict[str, Any]] = []
    while kind_index < len(KINDS):
        kind = KINDS[kind_index]
        if kind not in kinds:
            kind_index, last_id = kind_index + 1, None
            continue
        room = limit - len(entries)
        after = uuid.UUID(last_id) if last_id is not None else None
        values = _snapshot_rows(session, user_id, kind, after, room + 1)
        entries.extend(object_entry(kind, value) for value in values[:room])
        if len(values) > room:
            return entries, (kind_index, str(entries[-1]["id"]))
        kind_index, last_id = kind_index + 1, None
        if len(entries) == limit:
            return entries, (kind_index, None) if kind_index < len(KINDS) else None
    return entries, None


def _snapshot_rows(
    session: Session, user_id: uuid.UUID, kind: str, after: uuid.UUID | None, limit: int
) -> list[Any]:
    if kind == "task":
        where = [TASKS.c.user_id == user_id, TASKS.c.deleted_at.is_(None)]
        if after is not None:
            where.append(TASKS.c.id > after)
        statement = (
            select(*view_columns(_dialect(session))).where(*where).order_by(TASKS.c.id).limit(limit)
        )
        return list(session.execute(statement).all())
    model: Any = TaskList if kind == "list" else Tag
    conditions = [col(model.user_id) == user_id]
    if after is not None:
        conditions.append(col(model.id) > after)
    return list(
        session.scalars(select(model).where(*conditions).order_by(col(model.id)).limit(limit))
    )


def changes_page(
    *,
    session: Session,
    user_id: uuid.UUID,
    since: str | None,
    limit: int,
    retention_days: int,
    kinds: frozenset[str] = ALL_KINDS,
) -> Page:
    """GET /changes: without `since` the first page of a snapshot; with it, the next page
    (of the snapshot, or of the log once the snapshot is complete)."""
    now = utcnow()
    if since is None:
        cursor = Cursor(head(session=session, user_id=user_id), now, (0, None))
    else:
        cursor = decode(since, user_id=user_id, retention_days=retention_days, now=now)
    if cursor.snapshot is not None:
        entries, state = _snapshot_page(session, user_id, cursor.snapshot, limit, kinds)
        # The snapshot keeps the position of its first page: whatever changed while the
        # client paged through it is in the log after that position.
        next_cursor = Cursor(cursor.position, cursor.issued_at, state)
        token = encode(next_cursor, user_id)
        return Page(entries, token, state is not None, since is None)
    entries, positions, _ops, has_more, held_back = read_changes(
        session=session,
        user_id=user_id,
        after=cursor.position,
        limit=limit,
        kinds=kinds,
    )
    end = positions[-1] if positions else cursor.position
    token = encode(Cursor(end, now), user_id)
    return Page(entries, token, has_more, False, held_back)


def readable_kinds(scopes: frozenset[str] | None) -> frozenset[str]:
    """The kinds a caller sees: all for a login (None), else those its token's scopes read."""
    if scopes is None:
        return ALL_KINDS
    return frozenset(kind for kind, scope in KIND_SCOPES.items() if scope in scopes)


def purge_before(now: datetime, retention_days: int) -> datetime:
    """Log rows older than this go: the retention plus a day, so a cursor still accepted
    (issued within the retention) never needs a row the purge took."""
    return now - timedelta(days=retention_days + 1)


def purge_old_changes(*, session: Session, before: datetime) -> int:
    """Delete every user's log rows written before `before`, in one transaction; how many."""
    with session.begin():
        if _dialect(session) == "postgresql":
            # Row-level security lets the purge see old rows only, and only with this set.
            session.execute(select(func.set_config(PURGE_SETTING, before.isoformat(), True)))
        result = session.execute(delete(Change).where(col(Change.changed_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


def new_change_owners(*, session: Session, after_seq: int) -> tuple[int, list[uuid.UUID]]:
    """SQLite's poller (no row-level security there): the last sequence number, and whose
    changes came after `after_seq`."""
    last = session.execute(select(func.max(col(Change.seq)))).scalar_one() or 0
    if last <= after_seq:
        return int(last), []
    owners = session.scalars(
        select(col(Change.user_id)).where(col(Change.seq) > after_seq).distinct()
    ).all()
    return int(last), list(owners)


RELAY_SETTING = "app.changes_relay"


@cache
def _relay_statement() -> Any:
    return (
        select(col(Change.txid), col(Change.seq), col(Change.user_id))
        .where(_after(), _released("postgresql"))
        .order_by(col(Change.txid), col(Change.seq))
        .limit(bindparam("page_limit"))
    )


def relay_head(*, session: Session) -> Position:
    """PostgreSQL: where the Redis relay starts (everything handed out now is behind it)."""
    gate = _gate(session)
    assert gate is not None  # noqa: S101 - PostgreSQL only
    return Position(gate - 1, END_OF_TRANSACTION)


def relay_owners(
    *, session: Session, after: Position, limit: int = 1000
) -> tuple[Position, list[uuid.UUID]]:
    """PostgreSQL, the Redis relay: whose changes came after `after`, every user's (with the
    relay's row-level security exemption), in cursor order; and the new position."""
    session.execute(select(func.set_config(RELAY_SETTING, "on", True)))
    gate = _gate(session)
    rows = session.execute(
        _relay_statement(),
        {"after_txid": after.txid, "after_seq": after.seq, "gate": gate, "page_limit": limit},
    ).all()
    if not rows:
        return after, []
    owners = list(dict.fromkeys(row.user_id for row in rows))
    return Position(rows[-1].txid, rows[-1].seq), owners

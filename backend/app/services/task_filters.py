"""SQL for the task listing: filters, keyword search, sort keys and keyset conditions.

A listing request is split in two: its *shape* (which filters are present, how many tags,
the sort keys, whether it continues from a cursor) and its *values*. The SQL depends on the
shape alone, so it is built and compiled once per shape (services.tasks.list_statement)
and every request only binds its values; building and compiling the statement costs several
times more than running it.

The listing sorts by up to six keys plus the id, in any mix of directions. A page's cursor
carries the last row's value of every key; the next page starts strictly after that row.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Double,
    Float,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    not_,
    or_,
    tuple_,
)
from sqlalchemy.sql.expression import UnaryExpression
from sqlmodel import col, select

from app.core.errors import InvalidCursor
from app.core.text_search import words
from app.models import Tag, Task, TaskList, TaskTag
from app.models.task import TASKS
from app.schemas.task_query import SortKey, TaskQuery
from app.schemas.values import Priority, tag_key
from app.services.cursors import decode_cursor

# Identical to the expression of the ix_tasks_search GIN index (revision 0003), so that
# PostgreSQL answers keyword searches from the index. Everything but letters and digits
# becomes a space first, so PostgreSQL's parser sees the same plain words as the SQLite
# search (app.core.text_search): no e-mail, URL, signed-number or hyphenated-word tokens.
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, regexp_replace("
    "(tasks.title::text || ' '::text) || COALESCE(tasks.description, ''::text), "
    "'[^[:alnum:]]+'::text, ' '::text, 'g'::text))"
)

# How a `due_after` bound reads: a moment (strictly after), a date (from the next day on),
# or the last representable date (nothing can follow it).
DueAfter = Literal["moment", "next_day", "never"]


@dataclass(frozen=True)
class ListShape:
    """Everything about a listing request that changes its SQL; nothing that does not."""

    dialect: str
    completed: bool
    priorities: int
    tags: int
    search: bool
    due_before: bool
    due_after: DueAfter | None
    overdue: bool | None
    has_due: bool | None
    created_after: bool
    updated_after: bool
    lists: int
    archived: bool
    parent: Literal["none", "task"] | None
    sort: tuple[SortKey, ...]
    # None without a cursor; otherwise, per sort column, whether the cursor's value is NULL.
    cursor_nulls: tuple[bool, ...] | None


class ListRequest(NamedTuple):
    shape: ListShape
    params: dict[str, Any]


@dataclass(frozen=True)
class SortColumn:
    expr: ColumnElement[Any]
    descending: bool
    nullable: bool
    kind: str  # how cursor values are parsed: "datetime", "int", "str", "float", "uuid"


def start_of_day_utc(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _search_parts(dialect: str) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    """The match condition and the relevance score of a keyword search (`:q`)."""
    if dialect == "postgresql":
        document: ColumnElement[Any] = literal_column(SEARCH_DOCUMENT)
        query = func.plainto_tsquery(literal_column("'simple'::regconfig"), bindparam("q"))
        # ts_rank is a float4; as float8 its value round-trips exactly through the cursor.
        pg_rank: ColumnElement[float] = cast(func.ts_rank(document, query), Double)
        return document.op("@@")(query), pg_rank
    rank: ColumnElement[float] = func.tasks_search_rank(
        col(Task.title), col(Task.description), bindparam("q"), type_=Float
    )
    return rank > 0, rank


def _search_value(dialect: str, q: str) -> str:
    return " ".join(words(q)) if dialect == "postgresql" else q


def today_in(zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def overdue_condition(today: BindParameter[date], now: BindParameter[datetime]) -> Any:
    """Open and past due: a moment that has passed, or an all-day date before today in the
    user's time zone (the day counts until it ends there). Never NULL, so NOT works."""
    return and_(
        col(Task.completed).is_(False),
        or_(
            and_(col(Task.due_date).is_not(None), col(Task.due_date) < today),
            and_(col(Task.due_at).is_not(None), col(Task.due_at) < now),
        ),
    )


def due_today_condition(zone: str, now: datetime) -> Any:
    tz = ZoneInfo(zone)
    today = today_in(zone, now)
    start = datetime.combine(today, time(), tz).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time(), tz).astimezone(UTC)
    return and_(
        col(Task.completed).is_(False),
        or_(
            col(Task.due_date) == today,
            and_(col(Task.due_at) >= start, col(Task.due_at) < end),
        ),
    )


def visible_conditions(
    user_id: BindParameter[uuid.UUID], lists: Sequence[BindParameter[uuid.UUID]], archived: bool
) -> list[ColumnElement[bool]]:
    """What every listing and count of tasks starts from: the user's tasks, not in the
    trash, in the given lists (all if none), and not in an archived list unless asked."""
    where: list[ColumnElement[bool]] = [
        col(Task.user_id) == user_id,
        col(Task.deleted_at).is_(None),
    ]
    if lists:
        where.append(col(Task.list_id).in_(lists))
    if not archived:
        # A hashed subplan on PostgreSQL, evaluated once per query: a user has few lists.
        archived_lists = select(col(TaskList.id)).where(
            col(TaskList.user_id) == user_id, col(TaskList.archived).is_(True)
        )
        where.append(col(Task.list_id).not_in(archived_lists))
    return where


def _tag_condition(index: int) -> ColumnElement[bool]:
    tagged = (
        select(col(TaskTag.task_id))
        .join(Tag, and_(col(Tag.id) == TaskTag.tag_id, col(Tag.user_id) == TaskTag.user_id))
        .where(
            col(Tag.user_id) == bindparam("user_id"), col(Tag.name_key) == bindparam(f"tag_{index}")
        )
    )
    return col(Task.id).in_(tagged)


def sort_columns(
    keys: Sequence[SortKey], *, dialect: str, rank: ColumnElement[float] | None
) -> list[SortColumn]:
    """The ORDER BY keys, ending with the id so the order is total."""
    columns: list[SortColumn] = []
    for key in keys:
        if key.field in ("created_at", "updated_at"):
            expr: ColumnElement[Any] = TASKS.c[key.field]
            columns.append(SortColumn(expr, key.descending, False, "datetime"))
        elif key.field == "due":
            columns.append(SortColumn(TASKS.c.due_sort, key.descending, True, "datetime"))
        elif key.field == "priority":
            columns.append(SortColumn(TASKS.c.priority, key.descending, False, "int"))
        elif key.field == "position":
            # Byte order on both databases (the column's collation is "C" on PostgreSQL).
            columns.append(SortColumn(TASKS.c.position, key.descending, False, "str"))
        elif key.field == "title":
            # Byte order of the lower-cased title: the same on both databases, whatever the
            # PostgreSQL server's collation.
            expr = func.lower(TASKS.c.title)
            if dialect == "postgresql":
                expr = expr.collate("C")
            columns.append(SortColumn(expr, key.descending, False, "str"))
        else:
            assert rank is not None, "the query schema requires q for relevance"  # noqa: S101
            columns.append(SortColumn(rank, key.descending, False, "float"))
    last_descending = columns[-1].descending if columns else True
    columns.append(SortColumn(TASKS.c.id, last_descending, False, "uuid"))
    return columns


def order_by(columns: Sequence[SortColumn]) -> list[UnaryExpression[Any]]:
    clauses = []
    for column in columns:
        clause = column.expr.desc() if column.descending else column.expr.asc()
        # Tasks without a due date come last in both directions.
        clauses.append(clause.nulls_last() if column.nullable else clause)
    return clauses


def cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


_CURSOR_KINDS = {
    "created_at": ("datetime", False),
    "updated_at": ("datetime", False),
    "due": ("datetime", True),
    "priority": ("int", False),
    "title": ("str", False),
    "relevance": ("float", False),
    "position": ("str", False),
}


def _parse_value(kind: str, nullable: bool, raw: Any) -> Any:
    if raw is None:
        if nullable:
            return None
        raise InvalidCursor
    try:
        if kind == "datetime" and isinstance(raw, str):
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is None:
                raise InvalidCursor
            return parsed.astimezone(UTC)
        if kind == "int" and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if kind == "str" and isinstance(raw, str):
            return raw
        if kind == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if kind == "uuid" and isinstance(raw, str):
            return uuid.UUID(raw)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor from exc
    raise InvalidCursor


def _cursor_values(keys: Sequence[SortKey], raw_values: list[Any]) -> list[Any]:
    """The cursor's values, one per sort key and then the id; InvalidCursor if malformed."""
    kinds = [_CURSOR_KINDS[key.field] for key in keys] + [("uuid", False)]
    if len(raw_values) != len(kinds):
        raise InvalidCursor
    return [
        _parse_value(kind, nullable, raw)
        for (kind, nullable), raw in zip(kinds, raw_values, strict=True)
    ]


def after_cursor(columns: Sequence[SortColumn], nulls: Sequence[bool]) -> ColumnElement[bool]:
    """Rows strictly after the cursor's row (values `:cursor_0`...) in the ORDER BY of
    `columns`; `nulls` says which of the cursor's values are NULL."""
    binds = [
        bindparam(f"cursor_{index}", type_=column.expr.type) for index, column in enumerate(columns)
    ]
    same_direction = len({column.descending for column in columns}) == 1
    if same_direction and not any(column.nullable for column in columns):
        # One row comparison: PostgreSQL turns it into an index range on (user_id, key, id).
        row = tuple_(*(column.expr for column in columns))
        bound = tuple_(*binds)
        return row < bound if columns[0].descending else row > bound
    branches: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for column, bind, is_null in zip(columns, binds, nulls, strict=True):
        if is_null:
            # The cursor row has no due date: only rows without one can follow on this key.
            equal.append(column.expr.is_(None))
            continue
        beyond = column.expr < bind if column.descending else column.expr > bind
        if column.nullable:
            beyond = or_(beyond, column.expr.is_(None))
        branches.append(and_(*equal, beyond))
        equal.append(column.expr == bind)
    return or_(*branches) if branches else false()


def _due_after(value: date | datetime) -> tuple[DueAfter, datetime | None]:
    if isinstance(value, datetime):
        return "moment", value
    if value == date.max:
        return "never", None
    return "next_day", start_of_day_utc(value + timedelta(days=1))


def plan_list(
    *,
    user_id: uuid.UUID,
    query: TaskQuery,
    zone: str,
    now: datetime,
    dialect: str,
    fingerprint: str,
) -> ListRequest:
    """The shape of a listing request and the values its statement binds."""
    params: dict[str, Any] = {"user_id": user_id, "page_limit": query.limit + 1}
    if query.completed is not None:
        params["completed"] = query.completed
    priorities = sorted({Priority(p).level for p in query.priority})
    params.update({f"priority_{i}": level for i, level in enumerate(priorities)})
    params.update({f"tag_{i}": tag_key(name) for i, name in enumerate(query.tag)})
    if query.q is not None:
        params["q"] = _search_value(dialect, query.q)
    if query.due_before is not None:
        before = query.due_before
        params["due_before"] = before if isinstance(before, datetime) else start_of_day_utc(before)
    due_after: DueAfter | None = None
    if query.due_after is not None:
        due_after, bound = _due_after(query.due_after)
        if bound is not None:
            params["due_after"] = bound
    if query.overdue is not None:
        params["today"] = today_in(zone, now)
        params["now"] = now
    if query.created_after is not None:
        params["created_after"] = query.created_after
    if query.updated_after is not None:
        params["updated_after"] = query.updated_after
    if query.parent is not None and query.parent != "none":
        params["parent"] = uuid.UUID(query.parent)
    list_ids = sorted(set(query.lists))
    params.update({f"list_{i}": list_id for i, list_id in enumerate(list_ids)})
    cursor_nulls: tuple[bool, ...] | None = None
    if query.cursor is not None:
        values = _cursor_values(query.sort_keys, decode_cursor(query.cursor, fingerprint))
        cursor_nulls = tuple(value is None for value in values)
        params.update({f"cursor_{i}": value for i, value in enumerate(values)})
    shape = ListShape(
        dialect=dialect,
        completed=query.completed is not None,
        priorities=len(priorities),
        tags=len(query.tag),
        search=query.q is not None,
        due_before=query.due_before is not None,
        due_after=due_after,
        overdue=query.overdue,
        has_due=query.has_due,
        created_after=query.created_after is not None,
        updated_after=query.updated_after is not None,
        lists=len(list_ids),
        archived=query.archived,
        parent=None if query.parent is None else "none" if query.parent == "none" else "task",
        sort=query.sort_keys,
        cursor_nulls=cursor_nulls,
    )
    return ListRequest(shape, params)


def where_clause(shape: ListShape) -> tuple[list[ColumnElement[bool]], ColumnElement[float] | None]:
    """WHERE conditions (user_id first) and, with a search, the relevance expression."""
    lists: list[BindParameter[uuid.UUID]] = [
        bindparam(f"list_{i}", type_=TASKS.c.list_id.type) for i in range(shape.lists)
    ]
    where = visible_conditions(bindparam("user_id"), lists, shape.archived)
    if shape.parent == "none":
        where.append(col(Task.parent_id).is_(None))
    elif shape.parent == "task":
        where.append(col(Task.parent_id) == bindparam("parent", type_=TASKS.c.parent_id.type))
    rank: ColumnElement[float] | None = None
    if shape.completed:
        where.append(col(Task.completed) == bindparam("completed"))
    if shape.priorities:
        levels: list[BindParameter[int]] = [
            bindparam(f"priority_{i}") for i in range(shape.priorities)
        ]
        where.append(col(Task.priority).in_(levels))
    where.extend(_tag_condition(i) for i in range(shape.tags))
    if shape.search:
        match, rank = _search_parts(shape.dialect)
        where.append(match)
    if shape.due_before:
        where.append(col(Task.due_sort) < bindparam("due_before"))
    if shape.due_after == "moment":
        where.append(col(Task.due_sort) > bindparam("due_after"))
    elif shape.due_after == "next_day":
        where.append(col(Task.due_sort) >= bindparam("due_after"))
    elif shape.due_after == "never":
        where.append(false())
    if shape.overdue is not None:
        overdue = overdue_condition(bindparam("today"), bindparam("now"))
        where.append(overdue if shape.overdue else not_(overdue))
    if shape.has_due is not None:
        due = col(Task.due_sort)
        where.append(due.is_not(None) if shape.has_due else due.is_(None))
    if shape.created_after:
        where.append(col(Task.created_at) > bindparam("created_after"))
    if shape.updated_after:
        where.append(col(Task.updated_at) > bindparam("updated_after"))
    return where, rank

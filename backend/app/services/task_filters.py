"""SQL for the task listing: filters, keyword search, sort keys and keyset conditions.

The listing sorts by up to six keys plus the id, in any mix of directions. A page's cursor
carries the last row's value of every key; the next page starts strictly after that row.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Double,
    Float,
    and_,
    cast,
    false,
    func,
    literal_column,
    not_,
    or_,
    tuple_,
)
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.expression import UnaryExpression
from sqlmodel import col, select

from app.core.errors import InvalidCursor
from app.core.text_search import words
from app.models import Tag, Task, TaskTag
from app.schemas.task_query import SortKey, TaskQuery
from app.schemas.values import Priority, tag_key

# Identical to the expression of the ix_tasks_search GIN index (revision 0003), so that
# PostgreSQL answers keyword searches from the index. Everything but letters and digits
# becomes a space first, so PostgreSQL's parser sees the same plain words as the SQLite
# search (app.core.text_search): no e-mail, URL, signed-number or hyphenated-word tokens.
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, regexp_replace("
    "(tasks.title::text || ' '::text) || COALESCE(tasks.description, ''::text), "
    "'[^[:alnum:]]+'::text, ' '::text, 'g'::text))"
)


@dataclass(frozen=True)
class SortColumn:
    expr: ColumnElement[Any] | Mapped[Any]
    descending: bool
    nullable: bool
    kind: str  # how cursor values are parsed: "datetime", "int", "str", "float"


def start_of_day_utc(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _search(dialect: str, q: str) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    """The match condition and the relevance score of a keyword search."""
    if dialect == "postgresql":
        document: ColumnElement[Any] = literal_column(SEARCH_DOCUMENT)
        query = func.plainto_tsquery(literal_column("'simple'::regconfig"), " ".join(words(q)))
        # ts_rank is a float4; as float8 its value round-trips exactly through the cursor.
        pg_rank: ColumnElement[float] = cast(func.ts_rank(document, query), Double)
        return document.op("@@")(query), pg_rank
    rank: ColumnElement[float] = func.tasks_search_rank(
        col(Task.title), col(Task.description), q, type_=Float
    )
    return rank > 0, rank


def overdue_condition(now: datetime, zone: str) -> ColumnElement[bool]:
    """Open and past due: a moment that has passed, or an all-day date before today in the
    user's time zone (the day counts until it ends there). Never NULL, so NOT works."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return and_(
        col(Task.completed).is_(False),
        or_(
            and_(col(Task.due_date).is_not(None), col(Task.due_date) < today),
            and_(col(Task.due_at).is_not(None), col(Task.due_at) < now),
        ),
    )


def due_today_condition(now: datetime, zone: str) -> ColumnElement[bool]:
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(), tz).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time(), tz).astimezone(UTC)
    return and_(
        col(Task.completed).is_(False),
        or_(
            col(Task.due_date) == today,
            and_(col(Task.due_at) >= start, col(Task.due_at) < end),
        ),
    )


def _tag_condition(user_id: uuid.UUID, name: str) -> ColumnElement[bool]:
    tagged = (
        select(col(TaskTag.task_id))
        .join(Tag, and_(col(Tag.id) == TaskTag.tag_id, col(Tag.user_id) == TaskTag.user_id))
        .where(col(Tag.user_id) == user_id, col(Tag.name_key) == tag_key(name))
    )
    return col(Task.id).in_(tagged)


def _due_bound(value: date | datetime, *, after: bool) -> ColumnElement[bool]:
    if isinstance(value, datetime):
        return col(Task.due_sort) > value if after else col(Task.due_sort) < value
    if not after:
        return col(Task.due_sort) < start_of_day_utc(value)
    if value == date.max:
        return false()
    return col(Task.due_sort) >= start_of_day_utc(value + timedelta(days=1))


def build_filters(
    *, user_id: uuid.UUID, query: TaskQuery, zone: str, now: datetime, dialect: str
) -> tuple[list[ColumnElement[bool]], ColumnElement[float] | None]:
    """WHERE conditions (user_id first) and, with `q`, the relevance expression."""
    where: list[ColumnElement[bool]] = [col(Task.user_id) == user_id]
    rank: ColumnElement[float] | None = None
    if query.completed is not None:
        where.append(col(Task.completed).is_(query.completed))
    if query.priority:
        where.append(col(Task.priority).in_(sorted({Priority(p).level for p in query.priority})))
    where.extend(_tag_condition(user_id, name) for name in query.tag)
    if query.q is not None:
        match, rank = _search(dialect, query.q)
        where.append(match)
    if query.due_before is not None:
        where.append(_due_bound(query.due_before, after=False))
    if query.due_after is not None:
        where.append(_due_bound(query.due_after, after=True))
    if query.overdue is not None:
        overdue = overdue_condition(now, zone)
        where.append(overdue if query.overdue else not_(overdue))
    if query.has_due is not None:
        due = col(Task.due_sort)
        where.append(due.is_not(None) if query.has_due else due.is_(None))
    if query.created_after is not None:
        where.append(col(Task.created_at) > query.created_after)
    if query.updated_after is not None:
        where.append(col(Task.updated_at) > query.updated_after)
    return where, rank


def sort_columns(
    keys: Sequence[SortKey], *, dialect: str, rank: ColumnElement[float] | None
) -> list[SortColumn]:
    """The ORDER BY keys, ending with the id so the order is total."""
    columns: list[SortColumn] = []
    for key in keys:
        if key.field in ("created_at", "updated_at"):
            expr: ColumnElement[Any] | Mapped[Any] = col(getattr(Task, key.field))
            columns.append(SortColumn(expr, key.descending, False, "datetime"))
        elif key.field == "due":
            columns.append(SortColumn(col(Task.due_sort), key.descending, True, "datetime"))
        elif key.field == "priority":
            columns.append(SortColumn(col(Task.priority), key.descending, False, "int"))
        elif key.field == "title":
            # Byte order of the lower-cased title: the same on both databases, whatever the
            # PostgreSQL server's collation.
            expr = func.lower(col(Task.title))
            if dialect == "postgresql":
                expr = expr.collate("C")
            columns.append(SortColumn(expr, key.descending, False, "str"))
        else:
            assert rank is not None, "the query schema requires q for relevance"  # noqa: S101
            columns.append(SortColumn(rank, key.descending, False, "float"))
    last_descending = columns[-1].descending if columns else True
    columns.append(SortColumn(col(Task.id), last_descending, False, "uuid"))
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
            return parsed
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


def after_cursor(columns: Sequence[SortColumn], raw_values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after the cursor's row in the ORDER BY of `columns`."""
    if len(raw_values) != len(columns):
        raise InvalidCursor
    values = [
        _parse_value(column.kind, column.nullable, raw)
        for column, raw in zip(columns, raw_values, strict=True)
    ]
    same_direction = len({column.descending for column in columns}) == 1
    if same_direction and not any(column.nullable for column in columns):
        # One row comparison: PostgreSQL turns it into an index range on (user_id, key, id).
        # A plain tuple on the right takes the column types (UTC handling, UUID storage).
        row = tuple_(*(column.expr for column in columns))
        bound = tuple(values)
        return row < bound if columns[0].descending else row > bound
    branches: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for column, value in zip(columns, values, strict=True):
        if value is None:
            # The cursor row has no due date: only rows without one can follow on this key.
            equal.append(column.expr.is_(None))
            continue
        beyond = column.expr < value if column.descending else column.expr > value
        if column.nullable:
            beyond = or_(beyond, column.expr.is_(None))
        branches.append(and_(*equal, beyond))
        equal.append(column.expr == value)
    return or_(*branches) if branches else false()

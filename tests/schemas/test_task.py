"""The fast rendering of a task (task_document + orjson) is byte for byte what TaskPublic,
the contract's model, would send."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import NamedTuple

import orjson
from hypothesis import given
from hypothesis import strategies as st

from app.schemas.task import TaskPublic, task_document


class Row(NamedTuple):
    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: int
    due_date: date | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    list_id: uuid.UUID
    version: int
    recurrence: str | None
    recurrence_basis: str
    parent_id: uuid.UUID | None
    subtask_count: int
    open_subtask_count: int
    position: str


# UTC as the drivers hand it back: psycopg2's fixed offset zero, or datetime.UTC.
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(0))])
)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@st.composite
def rows(draw: st.DrawFn) -> Row:
    due_kind = draw(st.sampled_from(["none", "date", "moment"]))
    return Row(
        id=draw(st.uuids()),
        title=draw(texts),
        description=draw(st.none() | texts),
        completed=draw(st.booleans()),
        completed_at=draw(st.none() | moments),
        priority=draw(st.integers(0, 3)),
        due_date=draw(st.dates()) if due_kind == "date" else None,
        due_at=draw(moments) if due_kind == "moment" else None,
        created_at=draw(moments),
        updated_at=draw(moments),
        list_id=draw(st.uuids()),
        version=draw(st.integers(1, 2**31 - 1)),
        recurrence=draw(st.none() | st.sampled_from(["FREQ=DAILY", "FREQ=MONTHLY;BYDAY=-1FR"])),
        recurrence_basis=draw(st.sampled_from(["due", "completion"])),
        parent_id=draw(st.none() | st.uuids()),
        subtask_count=draw(st.integers(0, 1000)),
        open_subtask_count=draw(st.integers(0, 1000)),
        position=draw(st.text(st.sampled_from("0123456789ABCXYZabcxyz"), min_size=2, max_size=20)),
    )


@given(rows(), st.lists(texts, max_size=5))
def test_the_fast_rendering_is_what_the_model_sends(row: Row, tags: list[str]) -> None:
    fast = orjson.dumps(task_document(row, tags), option=orjson.OPT_UTC_Z)
    assert fast == TaskPublic.from_task(row, tags).model_dump_json().encode()

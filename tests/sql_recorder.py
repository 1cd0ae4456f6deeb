"""Record every statement psycopg2 sends for an engine, whichever layer sent it.

SQLAlchemy's `before_cursor_execute` event does not see `database.run`, which executes on the
driver's cursor directly; a cursor class set on each new connection sees everything.

    with recording(engine) as sent:
        client.get(...)
    assert len(sent) == 1
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from sqlalchemy import Engine, event


@contextmanager
def recording(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement sent while inside; the pool is emptied first so
    every connection used is a new one with the recording cursor."""
    sent: list[tuple[str, Any]] = []

    class RecordingCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> Any:
            sent.append((" ".join(str(query).split()), vars))
            return super().execute(query, vars)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor_factory = RecordingCursor

    engine.dispose()
    event.listen(engine, "connect", on_connect)
    try:
        yield sent
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()

"""Notifications between processes: PostgreSQL LISTEN/NOTIFY on a connection of its own.

Each server process runs one Listener: a daemon thread holding a dedicated connection (never
a pooled one: LISTEN lasts as long as the connection, which neither our pool nor a
transaction-mode pooler keeps for us), LISTENing on its channels and calling each channel's
handler with the payload. A NOTIFY is delivered when the transaction that sent it commits,
to every process listening, this one included.

When the connection drops the listener says so (`on_connected(False)`) and reconnects every
`retry_seconds`; whoever relies on notifications must then assume it missed some. TCP
keepalives make a silently dead connection (a vanished host, a dropped NAT entry) show up
as an error within about ten seconds.
"""

import logging
import os
import select
import threading
from collections.abc import Callable, Mapping

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from app.database import normalize_database_url

logger = logging.getLogger("app.notifications")

# users.token_version, timezone, email or identity changed, or the account was deleted:
# payload is the user id. Sent by a trigger on `users` (migration 0009), so every change
# notifies, whichever code (or psql session) made it.
ACCOUNTS_CHANNEL = "tasks_api_accounts"

Handler = Callable[[str], None]


def listen_dsn(database_url: str) -> str:
    """A libpq connection string for psycopg2 from a SQLAlchemy URL."""
    url = make_url(normalize_database_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def behind_neon_pooler(database_url: str) -> bool:
    """Neon's pooled endpoints (`<endpoint>-pooler.<region>...`) run PgBouncer in transaction
    mode: a LISTEN there is accepted and then never hears anything."""
    host = make_url(database_url).host or ""
    return "-pooler." in host


class Listener:
    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Handler],
        on_connected: Callable[[bool], None],
        *,
        retry_seconds: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.handlers = dict(handlers)
        self.on_connected = on_connected
        self.retry_seconds = retry_seconds
        self.connected = threading.Event()
        self._stopping = threading.Event()
        # Writing to this pipe wakes the thread out of select() at once on stop().
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        os.write(self._wake_write, b"x")
        self._thread.join(timeout)
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except psycopg2.Error as exc:
                logger.warning("notification listener disconnected: %s", str(exc).strip())
            finally:
                if self.connected.is_set():
                    self.connected.clear()
                    self.on_connected(False)
            self._stopping.wait(self.retry_seconds)

    def _listen(self) -> None:
        connection = psycopg2.connect(
            self.dsn,
            application_name="tasks-api-listener",
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        try:
            connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with connection.cursor() as cursor:
                for channel in self.handlers:
                    cursor.execute(f'LISTEN "{channel}"')
            self.connected.set()
            self.on_connected(True)
            logger.info("listening for notifications on %s", ", ".join(self.handlers))
            while not self._stopping.is_set():
                socket = connection.fileno()
                readable, _, _ = select.select([socket, self._wake_read], [], [])
                if socket in readable:
                    connection.poll()
                    self._dispatch(connection)
        finally:
            connection.close()

    def _dispatch(self, connection: "psycopg2.extensions.connection") -> None:
        while connection.notifies:
            notification = connection.notifies.pop(0)
            handler = self.handlers.get(notification.channel)
            if handler is None:
                continue
            try:
                handler(notification.payload)
            except Exception:
                # One bad payload must not stop the notifications that follow it.
                logger.exception("notification handler failed on %s", notification.channel)

"""the change feed: a log of every change to tasks, lists and tags, written by triggers

Revision ID: 0016
Revises: 0018
Create Date: 2026-11-29

Plain SQLAlchemy types only: a revision must not change when application code does.

`changes` holds one row per written row of `tasks`, `lists` and `tags`: who owns it, what it
is (`kind`), its id, and `op` (`created`, `updated`, `deleted`; a task moved to the trash is
`deleted`, one restored from it `created`). Rows carry ids only, never contents: the feed
reads the current state. Triggers write them, in the transaction of the change, so no code
path (a route, the batch, a job, psql) can forget to.

On PostgreSQL each row also records its transaction (`txid`, `pg_current_xact_id()`), which
the feed uses to hand out a change only once every transaction that could still add an
earlier one has ended (specs/2-backend-api/research.md, "Change feed cursor"), and the
trigger sends `NOTIFY tasks_api_changes, '<user id>'` (ids only) for the live event streams
of every process. The table gets the owner policy of revision 0004, and the purge policies of
revision 0013 (`app.purge_before`) for the removal of rows older than the retention.
SQLite writes one transaction at a time, so there `txid` is 0 and the sequence alone orders.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "tasks_api_changes"
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
PURGE_BEFORE = "NULLIF(current_setting('app.purge_before', true), '')::timestamptz"
RELAY = "current_setting('app.changes_relay', true) = 'on'"
# The hash of a token the request presents (database.bind_session_to_refresh_token).
PRESENTED_HASH = "NULLIF(current_setting('app.refresh_token_hash', true), '')"
# table -> kind
WATCHED = {"tasks": "task", "lists": "list", "tags": "tag"}
# SQLite: the text SQLAlchemy stores a UTC DateTime as.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def upgrade() -> None:
    op.create_table(
        "changes",
        # AUTOINCREMENT on SQLite: a sequence number is never reused, even after the purge
        # has emptied the table. An identity column on PostgreSQL: the triggers insert as
        # whichever role writes, and an identity's sequence needs no grant of its own.
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_changes")),
        sqlite_autoincrement=True,
    )
    # The feed: one user's changes in cursor order.
    op.create_index("ix_changes_user_id_txid_seq", "changes", ["user_id", "txid", "seq"])
    # The purge of rows older than the retention.
    op.create_index("ix_changes_changed_at", "changes", ["changed_at"])
    # Single-use tickets for GET /api/v1/events?ticket= (EventSource sends no header): only
    # the SHA-256 of the ticket is kept, with what the stream must check again later.
    op.create_table(
        "event_tickets",
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("personal_token_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_tickets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_hash", name=op.f("pk_event_tickets")),
    )
    op.create_index("ix_event_tickets_expires_at", "event_tickets", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def _postgresql_upgrade() -> None:
    # Every value put into SQL in this file is one of its constants.
    op.execute(
        """
        CREATE FUNCTION tasks_api_record_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            owner uuid;
            object uuid;
            action text;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                owner := OLD.user_id; object := OLD.id; action := 'deleted';
            ELSE
                owner := NEW.user_id; object := NEW.id;
                action := CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END;
                IF TG_TABLE_NAME = 'tasks' THEN
                    IF NEW.deleted_at IS NOT NULL THEN
                        action := 'deleted';
                    ELSIF TG_OP = 'UPDATE' AND OLD.deleted_at IS NOT NULL THEN
                        action := 'created';
                    END IF;
                END IF;
            END IF;
            INSERT INTO changes (user_id, kind, object_id, op, txid, changed_at)
            VALUES (owner, TG_ARGV[0], object, action,
                    pg_current_xact_id()::text::bigint, clock_timestamp());
            -- Identical notifications of one transaction are delivered once, at its commit.
            PERFORM pg_notify('CHANNEL', owner::text);
            RETURN NULL;
        END
        $$
        """.replace("'CHANNEL'", f"'{CHANNEL}'")
    )
    for table, kind in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER {table}_record_insert_delete AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tasks_api_record_change('{kind}')"
        )
        # An UPDATE that changes nothing (a recount that finds the same counts) is no change.
        op.execute(
            f"CREATE TRIGGER {table}_record_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN (OLD.* IS DISTINCT FROM NEW.*) "
            f"EXECUTE FUNCTION tasks_api_record_change('{kind}')"
        )
    table = "changes"
    owner = f"user_id = {CURRENT_USER}"
    expired = f"changed_at < {PURGE_BEFORE}"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({owner}) WITH CHECK ({owner})")
    op.execute(f"CREATE POLICY {table}_purge_read ON {table} FOR SELECT USING ({expired})")
    op.execute(f"CREATE POLICY {table}_purge ON {table} FOR DELETE USING ({expired})")
    # The Redis relay (EVENTS_FANOUT=redis) reads whose changes came in, for every user; it
    # marks its own transactions, which a request never does.
    op.execute(f"CREATE POLICY {table}_relay_read ON {table} FOR SELECT USING ({RELAY})")
    table = "event_tickets"
    # Redeeming a ticket, before its user is known: the one row whose hash the request holds.
    presented = f"ticket_hash = {PRESENTED_HASH}"
    expired = f"expires_at < {PURGE_BEFORE}"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({owner}) WITH CHECK ({owner})")
    op.execute(f"CREATE POLICY {table}_redeem_read ON {table} FOR SELECT USING ({presented})")
    op.execute(f"CREATE POLICY {table}_redeem ON {table} FOR DELETE USING ({presented})")
    op.execute(f"CREATE POLICY {table}_purge_read ON {table} FOR SELECT USING ({expired})")
    op.execute(f"CREATE POLICY {table}_purge ON {table} FOR DELETE USING ({expired})")


def _sqlite_upgrade() -> None:
    for table, kind in WATCHED.items():
        created = "'created'"
        updated = "'updated'"
        if table == "tasks":
            created = "CASE WHEN NEW.deleted_at IS NULL THEN 'created' ELSE 'deleted' END"
            updated = (
                "CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted' "
                "WHEN OLD.deleted_at IS NOT NULL THEN 'created' ELSE 'updated' END"
            )
        columns = "(user_id, kind, object_id, op, txid, changed_at)"
        op.execute(
            f"CREATE TRIGGER {table}_record_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN "  # noqa: S608
            f"INSERT INTO changes {columns} "
            f"VALUES (NEW.user_id, '{kind}', NEW.id, {created}, 0, {SQLITE_NOW}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_record_update AFTER UPDATE ON {table} FOR EACH ROW BEGIN "  # noqa: S608
            f"INSERT INTO changes {columns} "
            f"VALUES (NEW.user_id, '{kind}', NEW.id, {updated}, 0, {SQLITE_NOW}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_record_delete AFTER DELETE ON {table} FOR EACH ROW BEGIN "  # noqa: S608
            f"INSERT INTO changes {columns} "
            f"VALUES (OLD.user_id, '{kind}', OLD.id, 'deleted', 0, {SQLITE_NOW}); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for policy in ("relay_read", "purge", "purge_read", "owner"):
            op.execute(f"DROP POLICY IF EXISTS changes_{policy} ON changes")
        for policy in ("purge", "purge_read", "redeem", "redeem_read", "owner"):
            op.execute(f"DROP POLICY IF EXISTS event_tickets_{policy} ON event_tickets")
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_record_update ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_record_insert_delete ON {table}")
        op.execute("DROP FUNCTION IF EXISTS tasks_api_record_change()")
    else:
        for table in WATCHED:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_record_{action}")
    op.drop_index("ix_event_tickets_expires_at", table_name="event_tickets")
    op.drop_table("event_tickets")
    op.drop_index("ix_changes_changed_at", table_name="changes")
    op.drop_index("ix_changes_user_id_txid_seq", table_name="changes")
    op.drop_table("changes")

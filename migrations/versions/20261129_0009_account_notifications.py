"""notify every server process when an account changes (PostgreSQL only)

Revision ID: 0009
Revises: 0003
Create Date: 2026-11-29

Each process caches what authenticating a request needs to know about an account (its
token_version, time zone, identity). A trigger on `users` sends `NOTIFY tasks_api_accounts,
'<user id>'` when one of those columns changes or the account is deleted, so every process
forgets its copy when the change commits, whichever code made it (the API, the CLI, psql).
SQLite has no NOTIFY; there the cache entries live one second instead.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "tasks_api_accounts"
WATCHED = ("token_version", "timezone", "email", "auth_issuer", "auth_subject")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION tasks_api_account_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', OLD.id::text);
            RETURN NULL;
        END
        $$
        """
    )
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in WATCHED)
    op.execute(
        "CREATE TRIGGER users_account_changed AFTER UPDATE ON users FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION tasks_api_account_changed()"
    )
    op.execute(
        "CREATE TRIGGER users_account_deleted AFTER DELETE ON users FOR EACH ROW "
        "EXECUTE FUNCTION tasks_api_account_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS users_account_deleted ON users")
    op.execute("DROP TRIGGER IF EXISTS users_account_changed ON users")
    op.execute("DROP FUNCTION IF EXISTS tasks_api_account_changed()")

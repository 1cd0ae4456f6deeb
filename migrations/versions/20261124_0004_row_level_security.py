"""row-level security on user-owned tables (PostgreSQL only)

Revision ID: 0004
Revises: 0008
Create Date: 2026-11-24

A second wall behind the services' `WHERE user_id = ...`: each request's transaction sets
`app.user_id` (set_config(..., true), transaction-local) and these policies let it see and
write only that user's rows. FORCE makes them apply to the table owner too; only superusers
and BYPASSRLS roles skip them. The refresh-token policy also admits the single row whose hash
is in `app.refresh_token_hash`: refresh and logout look a token up before the user is known.
SQLite has no row-level security; there this revision does nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
PRESENTED_HASH = "NULLIF(current_setting('app.refresh_token_hash', true), '')"

POLICIES = {
    "tasks": f"user_id = {CURRENT_USER}",
    "refresh_tokens": f"user_id = {CURRENT_USER} OR token_hash = {PRESENTED_HASH}",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in reversed(list(POLICIES)):
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

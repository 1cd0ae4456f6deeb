"""calendar feeds: secret iCalendar URLs, with row-level security

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-29

Plain SQLAlchemy types only: a revision must not change when application code does.
A user-owned table like `personal_tokens`: on PostgreSQL its policy admits the owner's rows
and the one row whose hash is in `app.refresh_token_hash` (the setting holds the presented
token's hash: a feed is looked up by the token in its URL before its owner is known).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
TABLE = "calendar_feeds"
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
PRESENTED_HASH = "NULLIF(current_setting('app.refresh_token_hash', true), '')"
RULE = f"user_id = {CURRENT_USER} OR token_hash = {PRESENTED_HASH}"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("last_four", sa.String(length=4), nullable=False),
        sa.Column("flavour", sa.String(length=10), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index("ix_calendar_feeds_user_id_created_at", TABLE, ["user_id", "created_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {TABLE}_owner ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {TABLE}_owner ON {TABLE}")
    op.drop_index("ix_calendar_feeds_user_id_created_at", table_name=TABLE)
    op.drop_table(TABLE)

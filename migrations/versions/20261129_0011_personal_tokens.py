"""personal access tokens, with row-level security and revocation notifications

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-29

A user-owned table like `refresh_tokens`: on PostgreSQL its policy admits the owner's rows
and the one row whose hash is in `app.refresh_token_hash` (the setting holds the presented
token's hash: a personal token is looked up before its user is known). A trigger sends the
owner's id on the accounts channel of revision 0009 when a token is revoked or deleted, so
every server process forgets the token at once, as it forgets an account after logout-all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
TABLE = "personal_tokens"
CHANNEL = "tasks_api_accounts"
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
PRESENTED_HASH = "NULLIF(current_setting('app.refresh_token_hash', true), '')"
RULE = f"user_id = {CURRENT_USER} OR token_hash = {PRESENTED_HASH}"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("last_four", sa.String(length=4), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_personal_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_tokens_token_hash")),
    )
    op.create_index("ix_personal_tokens_user_id_created_at", TABLE, ["user_id", "created_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {TABLE}_owner ON {TABLE} USING ({RULE}) WITH CHECK ({RULE})")
    op.execute(
        f"""
        CREATE FUNCTION tasks_api_personal_token_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', OLD.user_id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER personal_tokens_revoked AFTER UPDATE ON {TABLE} FOR EACH ROW "
        "WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at "
        "OR OLD.expires_at IS DISTINCT FROM NEW.expires_at "
        "OR OLD.scopes IS DISTINCT FROM NEW.scopes) "
        "EXECUTE FUNCTION tasks_api_personal_token_changed()"
    )
    op.execute(
        f"CREATE TRIGGER personal_tokens_deleted AFTER DELETE ON {TABLE} FOR EACH ROW "
        "EXECUTE FUNCTION tasks_api_personal_token_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS personal_tokens_deleted ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS personal_tokens_revoked ON {TABLE}")
        op.execute("DROP FUNCTION IF EXISTS tasks_api_personal_token_changed()")
        op.execute(f"DROP POLICY IF EXISTS {TABLE}_owner ON {TABLE}")
    op.drop_index("ix_personal_tokens_user_id_created_at", table_name=TABLE)
    op.drop_table(TABLE)

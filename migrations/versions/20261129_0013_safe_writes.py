"""safe writes: a version on every task, and the stored responses of Idempotency-Key requests

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-29

`tasks.version` starts at 1 (existing tasks too) and every write adds one in the same UPDATE;
it is the task's strong ETag. `idempotency_keys` keeps, per user and key, the response of a POST
sent with an `Idempotency-Key`, written in the same transaction as the write it answers.

On PostgreSQL the new table gets the owner policy of revision 0004, and one more: the purge
(`tasks-api purge`, which acts for no user) may read and delete the keys older than the cutoff
it names in `app.purge_before`, and nothing else.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
PURGE_BEFORE = "NULLIF(current_setting('app.purge_before', true), '')::timestamptz"


def upgrade() -> None:
    # A plain ADD COLUMN: the default fills every existing task with 1.
    op.add_column(
        "tasks", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(length=100), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        table = "idempotency_keys"
        owner = f"user_id = {CURRENT_USER}"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({owner}) WITH CHECK ({owner})")
        expired = f"created_at < {PURGE_BEFORE}"
        op.execute(f"CREATE POLICY {table}_purge_read ON {table} FOR SELECT USING ({expired})")
        op.execute(f"CREATE POLICY {table}_purge ON {table} FOR DELETE USING ({expired})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for policy in ("purge", "purge_read", "owner"):
            op.execute(f"DROP POLICY IF EXISTS idempotency_keys_{policy} ON idempotency_keys")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("version")

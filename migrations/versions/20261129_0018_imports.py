"""import records: which tasks an import created, by source and external id

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29

Plain SQLAlchemy types only: a revision must not change when application code does.
One user-owned table, so on PostgreSQL it gets the owner policy of revision 0004.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "import_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_records")),
        sa.UniqueConstraint(
            "user_id",
            "source",
            "external_id",
            name=op.f("uq_import_records_user_id_source_external_id"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        rule = f"user_id = {CURRENT_USER}"
        op.execute("ALTER TABLE import_records ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE import_records FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY import_records_owner ON import_records USING ({rule}) "
            f"WITH CHECK ({rule})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS import_records_owner ON import_records")
    op.drop_table("import_records")

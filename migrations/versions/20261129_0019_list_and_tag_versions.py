"""versions of lists and tags: If-Match on their writes, and the change feed's `version`

Revision ID: 0019
Revises: 0016
Create Date: 2026-11-29

`lists.version` and `tags.version` start at 1 (existing rows too) and every change adds one,
as `tasks.version` does (revision 0013): PATCH and DELETE of a list or tag honour If-Match
with it, and the change feed shows it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("lists", "tags")


def upgrade() -> None:
    for table in TABLES:
        # A plain ADD COLUMN: the default fills every existing row with 1.
        op.add_column(
            table, sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    for table in TABLES:
        # A plain DROP COLUMN (SQLite 3.35+ too): a batch copy of the table would lose the
        # change feed's triggers on it (revision 0016).
        op.drop_column(table, "version")

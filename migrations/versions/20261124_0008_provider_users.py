"""provider users: users.auth_issuer/auth_subject; email and password optional

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-24

A user signed in through an external provider is keyed by (auth_issuer, auth_subject), has no
password and may have no email. Downgrading deletes those users (and, by cascade, their tasks
and tokens): the older schema cannot represent them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("auth_issuer", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("auth_subject", sa.String(length=255), nullable=True))
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch.alter_column("hashed_password", existing_type=sa.String(length=255), nullable=True)
        batch.create_unique_constraint(
            op.f("uq_users_auth_issuer_auth_subject"), ["auth_issuer", "auth_subject"]
        )


def downgrade() -> None:
    users = sa.table("users", sa.column("auth_issuer", sa.String()))
    op.execute(users.delete().where(users.c.auth_issuer.is_not(None)))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_auth_issuer_auth_subject"), type_="unique")
        batch.alter_column("hashed_password", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch.drop_column("auth_subject")
        batch.drop_column("auth_issuer")

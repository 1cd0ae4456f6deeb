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
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("auth_issuer", sa.String()))
    _delete_with_dependents(
        "users", sa.select(users.c.id).where(users.c.auth_issuer.is_not(None)), "id"
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_auth_issuer_auth_subject"), type_="unique")
        batch.alter_column("hashed_password", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch.drop_column("auth_subject")
        batch.drop_column("auth_issuer")


def _delete_with_dependents(table_name: str, keys: sa.Select[tuple[object]], key: str) -> None:
    """DELETE rows whose `key` is in `keys`, and every row that refers to them, first.

    Migrations run with SQLite's foreign keys off (see env.py), so ON DELETE CASCADE does not
    fire there; walking the foreign keys does the same on both databases, including tables
    that later revisions add.
    """
    inspector = sa.inspect(op.get_bind())
    for child in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(child):
            if fk["referred_table"] != table_name or fk["referred_columns"] != [key]:
                continue
            (column,) = fk["constrained_columns"]
            child_table = sa.table(child, sa.column(column))
            child_pk = inspector.get_pk_constraint(child)["constrained_columns"]
            if len(child_pk) == 1:
                pk_table = sa.table(child, sa.column(column), sa.column(child_pk[0]))
                _delete_with_dependents(
                    child,
                    sa.select(pk_table.c[child_pk[0]]).where(pk_table.c[column].in_(keys)),
                    child_pk[0],
                )
            op.execute(child_table.delete().where(child_table.c[column].in_(keys)))
    parent = sa.table(table_name, sa.column(key))
    op.execute(parent.delete().where(parent.c[key].in_(keys)))

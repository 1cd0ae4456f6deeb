"""organise tasks: priority, due dates, tags, user time zone, listing and search indexes

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-24

Plain SQLAlchemy types only: a revision must not change when application code does.
The full-text index exists on PostgreSQL only; the models do not describe it, so
`app.migrate.include_name` keeps it out of autogenerate comparisons. On PostgreSQL the two new
user-owned tables get the row-level security of revision 0004: ENABLE + FORCE and an owner
policy on `user_id`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
RLS_TABLES = ("tags", "task_tags")

# Must stay identical to app.services.task_search.SEARCH_DOCUMENT, or queries miss the index.
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, regexp_replace("
    "(tasks.title::text || ' '::text) || COALESCE(tasks.description, ''::text), "
    "'[^[:alnum:]]+'::text, ' '::text, 'g'::text))"
)


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy on SQLite: rebuilding users would cascade-delete).
    op.add_column(
        "users",
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
    )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("due_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("due_sort", TIMESTAMP, nullable=True))
        batch.create_unique_constraint(op.f("uq_tasks_id_user_id"), ["id", "user_id"])
        batch.create_check_constraint(op.f("ck_tasks_priority_range"), "priority BETWEEN 0 AND 3")
        batch.create_check_constraint(
            op.f("ck_tasks_one_due_kind"), "due_date IS NULL OR due_at IS NULL"
        )
    # The column default only fills existing rows; the application always writes priority.
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("priority", server_default=None)
    op.create_index("ix_tasks_user_id_due_sort_id", "tasks", ["user_id", "due_sort", "id"])

    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_tags_id_user_id")),
        sa.UniqueConstraint("user_id", "name_key", name=op.f("uq_tags_user_id_name_key")),
    )
    op.create_table(
        "task_tags",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_task_tags_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id", "user_id"],
            ["tags.id", "tags.user_id"],
            name=op.f("fk_task_tags_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "tag_id", name=op.f("pk_task_tags")),
    )
    op.create_index("ix_task_tags_tag_id_task_id", "task_tags", ["tag_id", "task_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_tasks_search",
            "tasks",
            [sa.text(SEARCH_DOCUMENT)],
            postgresql_using="gin",
        )
        rule = f"user_id = {CURRENT_USER}"
        for table in RLS_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {table}_owner ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in reversed(RLS_TABLES):
            op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
        op.drop_index("ix_tasks_search", table_name="tasks")
    op.drop_index("ix_task_tags_tag_id_task_id", table_name="task_tags")
    op.drop_table("task_tags")
    op.drop_table("tags")
    op.drop_index("ix_tasks_user_id_due_sort_id", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint(op.f("ck_tasks_one_due_kind"), type_="check")
        batch.drop_constraint(op.f("ck_tasks_priority_range"), type_="check")
        batch.drop_constraint(op.f("uq_tasks_id_user_id"), type_="unique")
        batch.drop_column("due_sort")
        batch.drop_column("due_at")
        batch.drop_column("due_date")
        batch.drop_column("priority")
    op.drop_column("users", "timezone")

"""lists and a trash: every task in one of its owner's lists, every account with an Inbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Creates `lists` (with the row-level security of revision 0004 on PostgreSQL), an Inbox for
every existing account, and `tasks.list_id` (every existing task lands in its owner's Inbox,
then the column becomes NOT NULL with a composite foreign key (list_id, user_id), so a task
can only sit in a list of its own owner) and `tasks.deleted_at` (the trash).

On PostgreSQL `tasks` has FORCE ROW LEVEL SECURITY: a migration role that owns the table but
is no superuser would see no task at all. The backfill lifts FORCE for its own statement, in
this revision's transaction, and restores it before the transaction ends.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"

USERS = sa.table("users", sa.column("id", sa.Uuid()))
LISTS = sa.table(
    "lists",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("name_key", sa.String()),
    sa.column("color", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("archived", sa.Boolean()),
    sa.column("inbox", sa.Boolean()),
    sa.column("created_at", TIMESTAMP),
    sa.column("updated_at", TIMESTAMP),
)
BATCH = 1000


def _create_inboxes() -> None:
    bind = op.get_bind()
    user_ids = [row[0] for row in bind.execute(sa.select(USERS.c.id))]
    # Naive UTC on SQLite (as the app's UTCDateTime stores it), aware on PostgreSQL.
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    for start in range(0, len(user_ids), BATCH):
        op.bulk_insert(
            LISTS,
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "name": "Inbox",
                    "name_key": "inbox",
                    "color": None,
                    "position": 0,
                    "archived": False,
                    "inbox": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for user_id in user_ids[start : start + BATCH]
            ],
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("inbox", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_lists_id_user_id")),
        sa.UniqueConstraint("user_id", "name_key", name=op.f("uq_lists_user_id_name_key")),
    )
    op.create_index(
        "ix_lists_user_id_inbox",
        "lists",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("inbox"),
        postgresql_where=sa.text("inbox"),
    )
    _create_inboxes()

    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("list_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("deleted_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("subtask_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("open_subtask_count", sa.Integer(), server_default="0", nullable=False)
        )
    backfill = (
        "UPDATE tasks SET list_id = (SELECT lists.id FROM lists "
        "WHERE lists.user_id = tasks.user_id AND lists.inbox)"
    )
    if postgres:
        op.execute("ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY")
        op.execute(backfill)
        op.execute("ALTER TABLE tasks FORCE ROW LEVEL SECURITY")
    else:
        op.execute(backfill)
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("list_id", existing_type=sa.Uuid(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_tasks_list_id_lists"), "lists", ["list_id", "user_id"], ["id", "user_id"]
        )
        batch.create_foreign_key(
            op.f("fk_tasks_parent_id_tasks"),
            "tasks",
            ["parent_id", "user_id"],
            ["id", "user_id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_tasks_user_id_list_id_created_at_id",
        "tasks",
        ["user_id", "list_id", "created_at", "id"],
    )
    op.create_index("ix_tasks_user_id_deleted_at_id", "tasks", ["user_id", "deleted_at", "id"])
    op.create_index(
        "ix_tasks_user_id_parent_id_created_at_id",
        "tasks",
        ["user_id", "parent_id", "created_at", "id"],
    )

    if postgres:
        rule = f"user_id = {CURRENT_USER}"
        op.execute("ALTER TABLE lists ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE lists FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY lists_owner ON lists USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP POLICY IF EXISTS lists_owner ON lists")
        op.execute("ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE task_tags NO FORCE ROW LEVEL SECURITY")
    # The old schema has no trash: what users deleted stays deleted, rather than coming back.
    # Tag links first (SQLite runs migrations with foreign keys off: no cascade there).
    op.execute(
        "DELETE FROM task_tags WHERE task_id IN (SELECT id FROM tasks WHERE deleted_at IS NOT NULL)"
    )
    op.execute("DELETE FROM tasks WHERE deleted_at IS NOT NULL")
    if postgres:
        op.execute("ALTER TABLE task_tags FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE tasks FORCE ROW LEVEL SECURITY")
    op.drop_index("ix_tasks_user_id_parent_id_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_deleted_at_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_list_id_created_at_id", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint(op.f("fk_tasks_parent_id_tasks"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_tasks_list_id_lists"), type_="foreignkey")
        batch.drop_column("open_subtask_count")
        batch.drop_column("subtask_count")
        batch.drop_column("parent_id")
        batch.drop_column("deleted_at")
        batch.drop_column("list_id")
    op.drop_index("ix_lists_user_id_inbox", table_name="lists")
    op.drop_table("lists")

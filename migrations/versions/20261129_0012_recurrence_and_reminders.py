"""recurring tasks and reminders: task recurrence columns, completions, reminders

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-29

Plain SQLAlchemy types only: a revision must not change when application code does. The task
columns are plain ADD COLUMNs (no table copy on SQLite: rebuilding `tasks` would cascade-delete
its tag links). On PostgreSQL the two new user-owned tables get the row-level security of
revision 0004 (ENABLE + FORCE and an owner policy on `user_id`), and the reminder scheduler,
which works across users, gets its own narrow policies: a transaction that sets
`app.jobs = 'reminders'` may read and update reminders and read tasks, nothing more
(app/jobs/reminders.py is the only code that sets it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
REMINDER_JOB = "current_setting('app.jobs', true) = 'reminders'"
RLS_TABLES = ("reminders", "task_completions")
# (policy, table, command, USING): the scheduler's access, beside the owner policies.
JOB_POLICIES = (
    ("reminders_job_select", "reminders", "SELECT"),
    ("reminders_job_update", "reminders", "UPDATE"),
    ("tasks_reminder_job_select", "tasks", "SELECT"),
)


def upgrade() -> None:
    op.add_column("tasks", sa.Column("recurrence", sa.String(length=500), nullable=True))
    op.add_column(
        "tasks",
        sa.Column("recurrence_basis", sa.String(length=10), server_default="due", nullable=False),
    )
    op.add_column(
        "tasks", sa.Column("recurrence_done", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("tasks", sa.Column("recurrence_time", sa.Time(), nullable=True))

    op.create_table(
        "task_completions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "due_date IS NULL OR due_at IS NULL", name=op.f("ck_task_completions_one_due_kind")
        ),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_task_completions_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_task_completions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_completions")),
    )
    op.create_index(
        "ix_task_completions_task_id_user_id_completed_at",
        "task_completions",
        ["task_id", "user_id", "completed_at"],
    )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=True),
        sa.Column("before", sa.String(length=40), nullable=True),
        sa.Column("time", sa.Time(), nullable=True),
        sa.Column("fire_at", TIMESTAMP, nullable=True),
        sa.Column("fired_at", TIMESTAMP, nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(at IS NULL) <> (before IS NULL)", name=op.f("ck_reminders_at_or_before")
        ),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_reminders_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    op.create_index(
        "ix_reminders_task_id_user_id_created_at",
        "reminders",
        ["task_id", "user_id", "created_at"],
    )
    op.create_index("ix_reminders_fired_at_fire_at", "reminders", ["fired_at", "fire_at"])
    op.create_index("ix_reminders_user_id_fire_at", "reminders", ["user_id", "fire_at"])

    if op.get_bind().dialect.name == "postgresql":
        owner = f"user_id = {CURRENT_USER}"
        for table in RLS_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY {table}_owner ON {table} USING ({owner}) WITH CHECK ({owner})"
            )
        for name, table, command in JOB_POLICIES:
            check = f" WITH CHECK ({REMINDER_JOB})" if command == "UPDATE" else ""
            op.execute(
                f"CREATE POLICY {name} ON {table} FOR {command} USING ({REMINDER_JOB}){check}"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _command in reversed(JOB_POLICIES):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.drop_index("ix_reminders_user_id_fire_at", table_name="reminders")
    op.drop_index("ix_reminders_fired_at_fire_at", table_name="reminders")
    op.drop_index("ix_reminders_task_id_user_id_created_at", table_name="reminders")
    op.drop_table("reminders")
    op.drop_index("ix_task_completions_task_id_user_id_completed_at", table_name="task_completions")
    op.drop_table("task_completions")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("recurrence_time")
        batch.drop_column("recurrence_done")
        batch.drop_column("recurrence_basis")
        batch.drop_column("recurrence")

"""manual order: a fractional-index position on every task

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-29

`tasks.position` orders a task among its siblings (same list, same parent): a string key
compared byte by byte ("C" collation on PostgreSQL; SQLite compares bytes anyway). Existing
tasks get the key a task created at their `created_at` would get (app.core.ordering), so each
group keeps its order of creation. The index serves `sort=position` within a list's top level
and the neighbours a move reads.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.core.ordering import creation_key

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
INDEX = "ix_tasks_user_id_list_id_parent_id_position_id"
BATCH = 1000


def _backfill() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, created_at FROM tasks")).all()
    update = sa.text("UPDATE tasks SET position = :position WHERE id = :id").bindparams(
        sa.bindparam("id", type_=sa.Uuid())
    )
    params = []
    for raw_id, raw_created in rows:
        task_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
        created = raw_created
        if isinstance(created, str):  # SQLite hands back text
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        params.append({"id": task_id, "position": creation_key(task_id, created)})
    for start in range(0, len(params), BATCH):
        connection.execute(update, params[start : start + BATCH])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("position", POSITION, nullable=True))
    if postgres:
        # The owner runs migrations; FORCE would hide every row from it.
        op.execute("ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY")
        _backfill()
        op.execute("ALTER TABLE tasks FORCE ROW LEVEL SECURITY")
    else:
        _backfill()
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("position", existing_type=POSITION, nullable=False)
    op.create_index(INDEX, "tasks", ["user_id", "list_id", "parent_id", "position", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("position")

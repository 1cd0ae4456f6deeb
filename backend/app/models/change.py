import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, Integer, String
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime


class Change(SQLModel, table=True):
    """One written row of `tasks`, `lists` or `tags`: the change feed's log (issue 18).

    Written only by the triggers of migration 0016, in the transaction of the change, so no
    code path can forget it; read by services.changes. Ids only, never contents. No foreign
    key to `users`: the rows of a deleted account's objects are written while it is being
    deleted; nobody can read them, and the purge removes them with the other old rows.
    """

    __tablename__ = "changes"
    __table_args__ = (
        # The feed: one user's changes in cursor order (txid, seq).
        Index("ix_changes_user_id_txid_seq", "user_id", "txid", "seq"),
        # The purge of rows older than the retention.
        Index("ix_changes_changed_at", "changed_at"),
        {"sqlite_autoincrement": True},
    )

    # Never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL).
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"),
            Identity(),
            primary_key=True,
            autoincrement=True,
        ),
    )
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    # `task`, `list` or `tag`.
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    object_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    # `created`, `updated` or `deleted` (trashed tasks too; a restore is `created`).
    op: str = Field(sa_column=Column(String(8), nullable=False))
    # PostgreSQL: the writing transaction's pg_current_xact_id(); SQLite: 0.
    txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    changed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EventTicket(SQLModel, table=True):
    """A single-use ticket for `GET /api/v1/events?ticket=` (a browser's EventSource cannot
    send an Authorization header), valid 60 seconds. Only its SHA-256 is kept, with what the
    stream checks again while it is open: the account's token_version when it was issued and
    the personal token it was issued with, if any."""

    __tablename__ = "event_tickets"
    __table_args__ = (Index("ix_event_tickets_expires_at", "expires_at"),)

    ticket_hash: str = Field(max_length=64, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    token_version: int
    personal_token_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))

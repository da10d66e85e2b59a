"""The `events` table's creating migration, whole: each service's events migration names only
its own revision and imports `upgrade` and `downgrade` from here.

The outbox every change writes its event to (issue 14): each write commits its events with its
change (`tdi_kit.events.emit`); the sequencer gives them their feed position, the relay
publishes them to a broker when one is configured. The app role may read, add and update
(position, published_at) events, never delete one.

Frozen with the migrations that call it (registry 0004, funding 0006/0007, contracts 0005): it
writes out the very schema `tdi_kit.events.outbox.events_table` declares today. Change the table
only through a new migration, never here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tdi_kit.events.outbox import TABLE


def create_events_table(op: Any) -> None:
    """Create the outbox (`op`: the migration's `alembic.op`)."""
    op.create_table(
        TABLE,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("actor_org", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("audience", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
        sa.UniqueConstraint("position", name=op.f("uq_events_position")),
    )
    op.create_index("ix_events_subject", TABLE, ["subject_kind", "subject_id", "seq"])
    op.create_index(
        "ix_events_unsequenced",
        TABLE,
        ["seq"],
        postgresql_where=sa.text("position IS NULL"),
        sqlite_where=sa.text("position IS NULL"),
    )


def drop_events_table(op: Any) -> None:
    op.drop_index("ix_events_unsequenced", table_name=TABLE)
    op.drop_index("ix_events_subject", table_name=TABLE)
    op.drop_table(TABLE)


def upgrade() -> None:
    """The migration's upgrade: alembic's `op` is only bound while a migration runs."""
    from alembic import op

    create_events_table(op)


def downgrade() -> None:
    """The migration's downgrade."""
    from alembic import op

    drop_events_table(op)

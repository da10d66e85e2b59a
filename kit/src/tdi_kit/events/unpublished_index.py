"""The outbox's second migration step: an index of the events the relay has yet to publish.

The relay asks, every round, for the sequenced events the broker has not confirmed, in position
order. Without this index the database walks the position index from the start and skips every
event already published: a round grew with the whole history of the service. With it, a round
reads only the backlog, and so does the backlog's gauge (`events_unpublished`). Without a broker
configured, nothing is ever published and the index holds every event, as the table does: no
round asks for them then.

Frozen with the migrations that call it (registry 0007, funding 0008, contracts 0006).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from tdi_kit.events.outbox import TABLE

INDEX = "ix_events_unpublished"
WHERE = "position IS NOT NULL AND published_at IS NULL"


def create_unpublished_index(op: Any) -> None:
    op.create_index(
        INDEX, TABLE, ["position"], postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE)
    )


def upgrade() -> None:
    create_unpublished_index(op)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)


__all__ = ["INDEX", "WHERE", "downgrade", "upgrade"]

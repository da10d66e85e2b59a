"""events: the outbox every change writes its event to (issue 14)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:10:00

Each write commits its events with its change (`tdi_kit.events.emit`); the sequencer gives
them their feed position, the relay publishes them to a broker when one is configured. The app
role may read, add and update (position, published_at) events, never delete one.
"""

from collections.abc import Sequence

from alembic import op

from tdi_kit.events.migration import create_events_table, drop_events_table

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_events_table(op)


def downgrade() -> None:
    drop_events_table(op)

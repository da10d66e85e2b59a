"""events: the outbox (TEMPORARY, lead's test copy; helper ev writes the real one)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op

from tdi_kit.events import events_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    events_table(sa.MetaData()).create(op.get_bind())


def downgrade() -> None:
    op.drop_table("events")

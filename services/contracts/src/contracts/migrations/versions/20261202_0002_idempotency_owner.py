"""idempotency keys per caller identity, with the scopes they were answered for

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 06:30:00

Keys were owned by the token's subject alone, and a claim row was written before the request
ran. Now the owner is a digest of issuer, subject and organisation, a row holds only a final
answer, and it records the scopes of the token that got it (a replay needs them all). Rows of
the old kind are deleted: keyed on the subject alone, they could be replayed to another
organisation's caller.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default=""))
        for column, kind in (
            ("status_code", sa.Integer()),
            ("response_headers", sa.Text()),
            ("response_body", sa.LargeBinary()),
        ):
            batch.alter_column(column, existing_type=kind, nullable=False)
    with op.batch_alter_table("idempotency_keys") as batch:
        # The default only filled the (emptied) table; the code always names the scopes.
        batch.alter_column("scopes", existing_type=sa.Text(), server_default=None)


def downgrade() -> None:
    # Old-style rows are keyed on the subject alone: none of the new ones can be kept.
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        for column, kind in (
            ("status_code", sa.Integer()),
            ("response_headers", sa.Text()),
            ("response_body", sa.LargeBinary()),
        ):
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.drop_column("scopes")

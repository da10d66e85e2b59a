"""balance sums: the ledger's sums kept by the database, for the dashboard's breakdowns

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:05:00

`balance_sums` holds the ledger's sums per tranche, funder and demo flag, for every movement
(`region_code` '') and for the movements of each Région's allocations. Each ledger write adds
its entries to it in the same transaction (funding.balances.sums), so the breakdowns read a few
rows per envelope instead of grouping the whole ledger. Filled here from the ledger as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUMS = """
    SUM(l.amount_delta_cents), SUM(l.committed_delta_cents), SUM(l.disbursed_delta_cents),
    SUM(CASE WHEN l.amount_delta_cents <> 0 THEN 1 ELSE 0 END)
"""
_COLUMNS = (
    "region_code, tranche_id, funder_code, is_demo, envelope_code, "
    "amount_cents, committed_cents, disbursed_cents, amount_moves"
)


def upgrade() -> None:
    op.create_table(
        "balance_sums",
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("tranche_id", sa.Uuid(), nullable=False),
        sa.Column("funder_code", sa.String(length=64), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("envelope_code", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("committed_cents", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_moves", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tranche_id"], ["tranches.id"], name=op.f("fk_balance_sums_tranche_id_tranches")
        ),
        sa.PrimaryKeyConstraint(
            "region_code", "tranche_id", "funder_code", "is_demo", name=op.f("pk_balance_sums")
        ),
    )
    op.create_index(
        op.f("ix_balance_sums_envelope_code"), "balance_sums", ["envelope_code"], unique=False
    )
    op.execute(
        f"INSERT INTO balance_sums ({_COLUMNS}) "
        f"SELECT '', l.tranche_id, COALESCE(l.funder_code, ''), l.is_demo, l.envelope_code, "
        f"{_SUMS} FROM ledger_entries l "
        "GROUP BY l.tranche_id, COALESCE(l.funder_code, ''), l.is_demo, l.envelope_code"
    )
    op.execute(
        f"INSERT INTO balance_sums ({_COLUMNS}) "
        f"SELECT r.region_code, l.tranche_id, COALESCE(l.funder_code, ''), l.is_demo, "
        f"l.envelope_code, {_SUMS} FROM ledger_entries l "
        "JOIN allocation_regions r ON r.allocation_id = l.allocation_id "
        "GROUP BY r.region_code, l.tranche_id, COALESCE(l.funder_code, ''), l.is_demo, "
        "l.envelope_code"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_balance_sums_envelope_code"), table_name="balance_sums")
    op.drop_table("balance_sums")

"""balance sums: the ledger's sums kept by the database, for the dashboard's breakdowns


`balance_sums` holds the ledger's sums per tranche, funder and demo flag, for every movement
(`region_code` '') and for the movements of each Région's allocations. Each ledger write adds
its entries to it in the same transaction (funding.balances.sums), so the breakdowns read a few
rows per envelope instead of grouping the whole ledger. Filled here from the ledger as it is.
"""

from alembic import op

from tdi_kit.migration_steps import create_table, drop_tables

revision, down_revision = "0006", "0005"
branch_labels = depends_on = None

_SUMS = """
    SUM(l.amount_delta_cents), SUM(l.committed_delta_cents), SUM(l.disbursed_delta_cents),
    SUM(CASE WHEN l.amount_delta_cents <> 0 THEN 1 ELSE 0 END)
"""
_COLUMNS = (
    "region_code, tranche_id, funder_code, is_demo, envelope_code, "
    "amount_cents, committed_cents, disbursed_cents, amount_moves"
)


def upgrade() -> None:
    create_table(
        "balance_sums",
        """
        region_code      str3   pk
        tranche_id       uuid   pk
        funder_code      str64  pk
        is_demo          bool   pk
        envelope_code    str64  ix
        amount_cents     bigint
        committed_cents  bigint
        disbursed_cents  bigint
        amount_moves     bigint
        references tranche_id -> tranches.id
        """,
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
    drop_tables("balance_sums")

"""data versions: a counter the database changes in every transaction that changes the money's
record, under which the envelopes', allocations' and disbursements' pages are kept
(`tdi_kit.dataversions`, `funding.pages`)

Every table a list's answer is computed from is counted (the events and idempotency records
aside): a page is served from memory until the next committed change, by any process.
"""

from tdi_kit.migration_steps import (
    add_data_version,
    create_data_versions,
    drop_data_version,
    drop_data_versions,
)

revision, down_revision = "0010", "0009"
branch_labels = depends_on = None

COUNTED = (
    "conventions",
    "envelopes",
    "envelope_themes",
    "tranches",
    "allocations",
    "allocation_regions",
    "disbursements",
    "ledger_entries",
    "balance_sums",
    "reported_figures",
    "organisations",
)


def upgrade() -> None:
    create_data_versions()
    add_data_version("funding", COUNTED)


def downgrade() -> None:
    drop_data_version("funding", COUNTED)
    drop_data_versions()

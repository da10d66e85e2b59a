"""data versions: a counter the database changes in every transaction that changes the
contracts' record, under which the contracts' and actions' pages are kept
(`tdi_kit.dataversions`, `contracts.pages`)

Every table a list's answer is computed from is counted (the events and idempotency records
aside): a page is served from memory until the next committed change, by any process.
"""

from tdi_kit.migration_steps import (
    add_data_version,
    create_data_versions,
    drop_data_version,
    drop_data_versions,
)

revision, down_revision = "0007", "0006"
branch_labels = depends_on = None

COUNTED = (
    "contracts",
    "signatories",
    "amendments",
    "contract_events",
    "actions",
    "action_themes",
    "plan_lines",
    "indicators",
    "milestones",
    "territories",
    "territory_regions",
    "organisations",
)


def upgrade() -> None:
    create_data_versions()
    add_data_version("contracts", COUNTED)


def downgrade() -> None:
    drop_data_version("contracts", COUNTED)
    drop_data_versions()

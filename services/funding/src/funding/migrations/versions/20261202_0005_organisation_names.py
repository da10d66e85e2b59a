"""organisation names: our copy of the registry's names, shown beside operator and funder codes


Envelopes show their operator's name (`operator_name`) and each funder's (`funders[].funder_label`)
beside the codes. The registry owns those names: `organisations` keeps our copy, refreshed
whenever a write names an organisation (its reference check reads the registry's answer anyway).
Funding renders its answers when they are read, so no stored document needs rewriting.

Filled here with the organisations the registry's seed lists on this day (a snapshot frozen with
the migration: a later rename reaches this copy through the next write naming it).
"""

from alembic import op

from tdi_kit.copies import REGISTRY_ORGANISATIONS_20261202, create_organisations_copy

revision, down_revision = "0005", "0004"
branch_labels = depends_on = None

# The registry's seed (services/registry/src/registry/seed/data/organisations.csv) on this day.
REGISTRY_ORGANISATIONS = REGISTRY_ORGANISATIONS_20261202


def upgrade() -> None:
    create_organisations_copy(REGISTRY_ORGANISATIONS)


def downgrade() -> None:
    op.drop_table("organisations")

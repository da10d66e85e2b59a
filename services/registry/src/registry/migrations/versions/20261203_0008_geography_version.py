"""data versions: the register's counter follows the geography, the territories' members and
listed communes and the organisations too, so that their lists' pages are kept under it
(`registry.pages`)

Changed at commit, once per transaction (`tdi_kit.migration_steps.add_data_version`); the
territories, phases, milestones and Régions keep the triggers of migration 0006.
"""

from tdi_kit.migration_steps import add_data_version, drop_data_version

revision, down_revision = "0008", "0007"
branch_labels = depends_on = None

COUNTED = (
    "communes",
    "groupements",
    "groupement_departments",
    "territory_members",
    "territory_communes",
    "organisations",
)


def upgrade() -> None:
    add_data_version("register", COUNTED)


def downgrade() -> None:
    drop_data_version("register", COUNTED, keep_row=True)

"""territories' official Région; the programme's phases and milestones"""

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import create_table, drop_tables

revision, down_revision = "0003", "0002"
branch_labels = depends_on = None


def upgrade() -> None:
    create_table(
        "programme_phases",
        """
        phase         int    pk no-autoincrement
        name          str200
        starts_on     date
        ends_on       date
        source_title  str300
        source_url    str300 null
        caveat        text   null
        """,
    )
    create_table(
        "programme_milestones",
        """
        code               str80  pk
        date               date   ix
        date_precision     str8
        phase              int    ix
        kind               str16  ix
        measure            str48  ix
        value              bigint null
        amount_cents       bigint null
        organisation_code  str64  null
        description        text
        source_title       str300
        source_url         str300 null
        caveat             text   null
        references organisation_code -> organisations.code
        references phase -> programme_phases.phase
        """,
    )

    with op.batch_alter_table("territories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("region_source", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_territories_region_code"), ["region_code"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_territories_region_code_regions"), "regions", ["region_code"], ["code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("territories", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_territories_region_code_regions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_territories_region_code"))
        batch_op.drop_column("region_source")
        batch_op.drop_column("region_code")
    drop_tables("programme_milestones", "programme_phases")

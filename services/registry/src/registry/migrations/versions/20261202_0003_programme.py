"""territories' official Région; the programme's phases and milestones

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import drop_tables, foreign_key, indexes

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_phases",
        sa.Column("phase", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("source_title", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.String(length=300), nullable=True),
        sa.Column("caveat", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("phase", name=op.f("pk_programme_phases")),
    )
    op.create_table(
        "programme_milestones",
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.String(length=8), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=48), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("organisation_code", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_title", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.String(length=300), nullable=True),
        sa.Column("caveat", sa.Text(), nullable=True),
        foreign_key("programme_milestones", "organisation_code", "organisations.code"),
        foreign_key("programme_milestones", "phase", "programme_phases.phase"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_programme_milestones")),
    )
    indexes("programme_milestones", "date", "kind", "measure", "phase")

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

"""initial registry schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 00:58:31.021825

"""

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import (
    create_idempotency_keys,
    drop_tables,
    foreign_key,
    indexes,
    stored_document,
    versioned,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_idempotency_keys()
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    op.create_table(
        "territories",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("phase1_overlaps", sa.JSON(), nullable=False),
        sa.Column("binome_elected_name", sa.String(length=200), nullable=True),
        sa.Column("binome_elected_mandate", sa.String(length=200), nullable=True),
        sa.Column("binome_industrialist_name", sa.String(length=200), nullable=True),
        sa.Column("binome_industrialist_company", sa.String(length=200), nullable=True),
        sa.Column("chef_de_projet_name", sa.String(length=200), nullable=True),
        sa.Column("chef_de_projet_email", sa.String(length=200), nullable=True),
        sa.Column("chef_de_projet_employer", sa.String(length=200), nullable=True),
        *versioned(now_by_default=True),
        *stored_document(),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territories")),
    )
    indexes("territories", "name_key", "phase")

    op.create_table(
        "departments",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        foreign_key("departments", "region_code", "regions.code"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
    )
    indexes("departments", "region_code")

    op.create_table(
        "organisations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=True),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("search_text", sa.String(length=300), nullable=False),
        foreign_key("organisations", "region_code", "regions.code"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisations")),
    )
    indexes("organisations", "kind")

    op.create_table(
        "territory_communes",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("insee", sa.String(length=5), nullable=False),
        foreign_key("territory_communes", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("territory_code", "insee", name=op.f("pk_territory_communes")),
    )
    indexes("territory_communes", "insee")

    op.create_table(
        "territory_outlines",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        foreign_key("territory_outlines", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("territory_code", name=op.f("pk_territory_outlines")),
    )
    op.create_table(
        "territory_regions",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        foreign_key("territory_regions", "region_code", "regions.code"),
        foreign_key("territory_regions", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("territory_code", "region_code", name=op.f("pk_territory_regions")),
    )
    indexes("territory_regions", "region_code")

    op.create_table(
        "groupements",
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nature", sa.String(length=8), nullable=False),
        sa.Column("seat_department_code", sa.String(length=3), nullable=True),
        sa.Column("region_code", sa.String(length=3), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("search_text", sa.String(length=300), nullable=False),
        foreign_key("groupements", "region_code", "regions.code"),
        foreign_key("groupements", "seat_department_code", "departments.code"),
        sa.PrimaryKeyConstraint("siren", name=op.f("pk_groupements")),
    )
    indexes("groupements", "kind", "region_code")

    op.create_table(
        "territory_departments",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=3), nullable=False),
        foreign_key("territory_departments", "department_code", "departments.code"),
        foreign_key("territory_departments", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint(
            "territory_code", "department_code", name=op.f("pk_territory_departments")
        ),
    )
    indexes("territory_departments", "department_code")

    op.create_table(
        "territory_referents",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("organisation_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        foreign_key("territory_referents", "organisation_code", "organisations.code"),
        foreign_key("territory_referents", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint(
            "territory_code", "organisation_code", name=op.f("pk_territory_referents")
        ),
    )
    op.create_table(
        "communes",
        sa.Column("insee", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_code", sa.String(length=3), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("epci_siren", sa.String(length=9), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("search_text", sa.String(length=200), nullable=False),
        foreign_key("communes", "department_code", "departments.code"),
        foreign_key("communes", "epci_siren", "groupements.siren"),
        sa.PrimaryKeyConstraint("insee", name=op.f("pk_communes")),
        sa.UniqueConstraint("siren", name=op.f("uq_communes_siren")),
    )
    indexes("communes", "department_code", "epci_siren")

    op.create_table(
        "groupement_departments",
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("department_code", sa.String(length=3), nullable=False),
        foreign_key("groupement_departments", "department_code", "departments.code"),
        foreign_key("groupement_departments", "siren", "groupements.siren"),
        sa.PrimaryKeyConstraint("siren", "department_code", name=op.f("pk_groupement_departments")),
    )
    indexes("groupement_departments", "department_code")

    op.create_table(
        "territory_members",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        foreign_key("territory_members", "siren", "groupements.siren"),
        foreign_key("territory_members", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("territory_code", "siren", name=op.f("pk_territory_members")),
        sa.UniqueConstraint("phase", "siren", name="uq_territory_members_phase_siren"),
    )
    with op.batch_alter_table("territory_members", schema=None) as batch_op:
        batch_op.create_index("ix_territory_members_siren", ["siren"], unique=False)


def downgrade() -> None:
    drop_tables(
        "territory_members",
        "groupement_departments",
        "communes",
        "territory_referents",
        "territory_departments",
        "groupements",
        "territory_regions",
        "territory_outlines",
        "territory_communes",
        "organisations",
        "departments",
        "territories",
        "regions",
        "idempotency_keys",
    )

"""initial contracts schema: contracts, signatories, fiches-actions, amendments, history

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 01:22:22.678128

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
        "territories",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territories")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("enjeux", sa.JSON(), nullable=False),
        sa.Column("start_year", sa.Integer(), nullable=True),
        sa.Column("end_year", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("signature_place", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("live_slot", sa.String(length=40), nullable=True),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        *versioned(),
        *stored_document(),
        foreign_key("contracts", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("live_slot", name=op.f("uq_contracts_live_slot")),
    )
    indexes("contracts", "is_demo", "phase", "status", "territory_code", "title_key", "updated_at")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contracts_territory_code_kind_id", ["territory_code", "kind", "id"], unique=False
        )

    op.create_table(
        "territory_regions",
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("region_name", sa.String(length=100), nullable=False),
        foreign_key("territory_regions", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("territory_code", "region_code", name=op.f("pk_territory_regions")),
    )
    indexes("territory_regions", "region_code")

    op.create_table(
        "actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("axis", sa.String(length=16), nullable=True),
        sa.Column("priority", sa.String(length=32), nullable=True),
        sa.Column("owner_organisation_code", sa.String(length=64), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=True),
        sa.Column("owner_siren", sa.String(length=9), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        *versioned(),
        *stored_document(),
        foreign_key("actions", "contract_id", "contracts.id"),
        foreign_key("actions", "territory_code", "territories.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("contract_id", "code", name=op.f("uq_actions_contract_id_code")),
    )
    indexes(
        "actions",
        "axis",
        "contract_id",
        "is_demo",
        "phase",
        "priority",
        "status",
        "territory_code",
        "title_key",
        "updated_at",
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_actions_territory_code_code_id", ["territory_code", "code", "id"], unique=False
        )

    op.create_table(
        "amendments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("amendments", "contract_id", "contracts.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amendments")),
        sa.UniqueConstraint("contract_id", "number", name=op.f("uq_amendments_contract_id_number")),
    )
    indexes("amendments", "contract_id")

    op.create_table(
        "contract_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("amendment_number", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("by_sub", sa.String(length=255), nullable=False),
        sa.Column("by_org", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        foreign_key("contract_events", "contract_id", "contracts.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_events")),
        sa.UniqueConstraint(
            "contract_id", "version", name=op.f("uq_contract_events_contract_id_version")
        ),
    )
    op.create_table(
        "signatories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("organisation_code", sa.String(length=64), nullable=True),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        foreign_key("signatories", "contract_id", "contracts.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatories")),
    )
    indexes("signatories", "contract_id")

    op.create_table(
        "action_themes",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("theme", sa.String(length=48), nullable=False),
        foreign_key("action_themes", "action_id", "actions.id"),
        sa.PrimaryKeyConstraint("action_id", "theme", name=op.f("pk_action_themes")),
    )
    indexes("action_themes", "theme")

    op.create_table(
        "indicators",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("actual", sa.Float(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        foreign_key("indicators", "action_id", "actions.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
    )
    indexes("indicators", "action_id")

    op.create_table(
        "milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        foreign_key("milestones", "action_id", "actions.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    indexes("milestones", "action_id")

    op.create_table(
        "plan_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("financer_code", sa.String(length=64), nullable=True),
        sa.Column("financer_name", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("allocation_id", sa.Uuid(), nullable=True),
        foreign_key("plan_lines", "action_id", "actions.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_lines")),
    )
    indexes("plan_lines", "action_id", "financer_code")


def downgrade() -> None:
    drop_tables(
        "plan_lines",
        "milestones",
        "indicators",
        "action_themes",
        "signatories",
        "contract_events",
        "amendments",
        "actions",
        "territory_regions",
        "contracts",
        "territories",
        "idempotency_keys",
    )

"""initial funding schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 01:11:46.908892

"""

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import (
    create_idempotency_keys,
    drop_tables,
    foreign_key,
    indexes,
    versioned,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "conventions",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("operator_code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("commitments", sa.Text(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        *versioned(),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_conventions")),
    )
    indexes("conventions", "operator_code")

    create_idempotency_keys()
    op.create_table(
        "envelopes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("operator_code", sa.String(length=64), nullable=False),
        sa.Column("convention_code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_year", sa.Integer(), nullable=False),
        sa.Column("end_year", sa.Integer(), nullable=False),
        sa.Column("max_rate_percent", sa.Integer(), nullable=True),
        sa.Column("cap_per_project_cents", sa.BigInteger(), nullable=True),
        sa.Column("cap_waivable", sa.Boolean(), nullable=False),
        sa.Column("min_eligible_spending_cents", sa.BigInteger(), nullable=True),
        sa.Column("examined_by", sa.String(length=64), nullable=True),
        sa.Column("rules_text", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        *versioned(),
        sa.CheckConstraint("start_year <= end_year", name=op.f("ck_envelopes_period")),
        foreign_key("envelopes", "convention_code", "conventions.code"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_envelopes")),
    )
    indexes("envelopes", "convention_code", "kind", "operator_code")

    op.create_table(
        "envelope_themes",
        sa.Column("envelope_code", sa.String(length=64), nullable=False),
        sa.Column("theme", sa.String(length=48), nullable=False),
        foreign_key("envelope_themes", "envelope_code", "envelopes.code"),
        sa.PrimaryKeyConstraint("envelope_code", "theme", name=op.f("pk_envelope_themes")),
    )
    indexes("envelope_themes", "theme")

    op.create_table(
        "tranches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("envelope_code", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("committed_cents", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "committed_cents <= amount_cents", name=op.f("ck_tranches_not_over_committed")
        ),
        sa.CheckConstraint(
            "disbursed_cents <= committed_cents", name=op.f("ck_tranches_not_over_disbursed")
        ),
        sa.CheckConstraint("disbursed_cents >= 0", name=op.f("ck_tranches_disbursed_not_negative")),
        foreign_key("tranches", "envelope_code", "envelopes.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tranches")),
        sa.UniqueConstraint("envelope_code", "year", name=op.f("uq_tranches_envelope_code_year")),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tranche_id", sa.Uuid(), nullable=False),
        sa.Column("envelope_code", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("operator_code", sa.String(length=64), nullable=False),
        sa.Column("territory_code", sa.String(length=16), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("beneficiary_name", sa.String(length=200), nullable=False),
        sa.Column("beneficiary_siren", sa.String(length=9), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("eligible_spending_cents", sa.BigInteger(), nullable=True),
        sa.Column("cap_waiver", sa.String(length=200), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disbursed_cents", sa.BigInteger(), nullable=False),
        sa.Column("released_cents", sa.BigInteger(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_allocations_amount_positive")),
        sa.CheckConstraint(
            "disbursed_cents + released_cents <= amount_cents",
            name=op.f("ck_allocations_not_over_spent"),
        ),
        foreign_key("allocations", "tranche_id", "tranches.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint(
            "operator_code", "reference", name=op.f("uq_allocations_operator_code_reference")
        ),
    )
    indexes("allocations", "action_id", "beneficiary_siren")
    op.create_index(
        "ix_allocations_created_at_id", "allocations", ["created_at", "id"], unique=False
    )
    indexes(
        "allocations", "envelope_code", "operator_code", "status", "territory_code", "tranche_id"
    )

    op.create_table(
        "allocation_regions",
        sa.Column("allocation_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        foreign_key("allocation_regions", "allocation_id", "allocations.id"),
        sa.PrimaryKeyConstraint("allocation_id", "region_code", name=op.f("pk_allocation_regions")),
    )
    indexes("allocation_regions", "region_code")

    op.create_table(
        "disbursements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("allocation_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_disbursements_amount_positive")),
        foreign_key("disbursements", "allocation_id", "allocations.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursements")),
    )
    op.create_index(
        "ix_disbursements_allocation_id_created_at",
        "disbursements",
        ["allocation_id", "created_at"],
        unique=False,
    )

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("actor_org", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("tranche_id", sa.Uuid(), nullable=False),
        sa.Column("envelope_code", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("operator_code", sa.String(length=64), nullable=False),
        sa.Column("allocation_id", sa.Uuid(), nullable=True),
        sa.Column("disbursement_id", sa.Uuid(), nullable=True),
        sa.Column("territory_code", sa.String(length=16), nullable=True),
        sa.Column("amount_delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("committed_delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        foreign_key("ledger_entries", "allocation_id", "allocations.id"),
        foreign_key("ledger_entries", "disbursement_id", "disbursements.id"),
        foreign_key("ledger_entries", "tranche_id", "tranches.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    indexes(
        "ledger_entries",
        "allocation_id",
        "envelope_code",
        "kind",
        "operator_code",
        "territory_code",
        "tranche_id",
    )

    _protect_ledger()


def downgrade() -> None:
    _unprotect_ledger()

    drop_tables(
        "ledger_entries",
        "disbursements",
        "allocation_regions",
        "allocations",
        "tranches",
        "envelope_themes",
        "envelopes",
        "idempotency_keys",
        "conventions",
    )


# The ledger is the record of every movement of money: the database itself refuses to change or
# remove an entry, whatever code runs against it. (A later SQLite migration that copies this table
# in batch mode must create these triggers again.)
REFUSAL = "the ledger is append-only: entries are never changed or removed"


def _protect_ledger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_entries_no_{event.lower()} BEFORE {event} ON ledger_entries "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def _unprotect_ledger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS ledger_entries_no_{event}")

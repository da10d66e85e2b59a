"""initial funding schema"""

from alembic import op

from tdi_kit.migration_steps import create_idempotency_keys, create_table, drop_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_table(
        "conventions",
        """
        code           str64  pk
        operator_code  str64  ix
        title          str300
        signed_on      date   null
        place          str200 null
        period_start   date   null
        period_end     date   null
        commitments    text
        documents      json
        sources        json
        is_demo        bool
        versioned
        """,
    )
    create_idempotency_keys()
    create_table(
        "envelopes",
        """
        code                         str64  pk
        operator_code                str64  ix
        convention_code              str64  null ix
        name                         str300
        kind                         str16  ix
        description                  text
        start_year                   int
        end_year                     int
        max_rate_percent             int    null
        cap_per_project_cents        bigint null
        cap_waivable                 bool
        min_eligible_spending_cents  bigint null
        examined_by                  str64  null
        rules_text                   text
        sources                      json
        is_demo                      bool
        versioned
        check period: start_year <= end_year
        references convention_code -> conventions.code
        """,
    )
    create_table(
        "envelope_themes",
        """
        envelope_code  str64  pk
        theme          str48  pk ix
        references envelope_code -> envelopes.code
        """,
    )
    create_table(
        "tranches",
        """
        id               uuid   pk
        envelope_code    str64
        year             int
        note             text
        amount_cents     bigint
        committed_cents  bigint
        disbursed_cents  bigint
        check not_over_committed: committed_cents <= amount_cents
        check not_over_disbursed: disbursed_cents <= committed_cents
        check disbursed_not_negative: disbursed_cents >= 0
        references envelope_code -> envelopes.code
        unique envelope_code, year
        """,
    )
    create_table(
        "allocations",
        """
        id                       uuid   pk
        tranche_id               uuid   ix
        envelope_code            str64  ix
        year                     int
        operator_code            str64  ix
        territory_code           str16  ix
        action_id                uuid   null ix
        title                    str300
        beneficiary_name         str200
        beneficiary_siren        str9   null ix
        reference                str100 null
        amount_cents             bigint
        eligible_spending_cents  bigint null
        cap_waiver               str200 null
        decision_date            date   null
        status                   str20  ix
        disbursed_cents          bigint
        released_cents           bigint
        cancel_reason            str500 null
        is_demo                  bool
        version                  int
        created_at               time
        created_by               str255
        updated_at               time
        committed_at             time   null
        cancelled_at             time   null
        check amount_positive: amount_cents > 0
        check not_over_spent: disbursed_cents + released_cents <= amount_cents
        references tranche_id -> tranches.id
        unique operator_code, reference
        index ix_allocations_created_at_id: created_at, id
        """,
    )
    create_table(
        "allocation_regions",
        """
        allocation_id  uuid  pk
        region_code    str3  pk ix
        references allocation_id -> allocations.id
        """,
    )
    create_table(
        "disbursements",
        """
        id             uuid   pk
        allocation_id  uuid
        amount_cents   bigint
        paid_on        date   null
        reference      str100 null
        is_demo        bool
        created_at     time
        created_by     str255
        check amount_positive: amount_cents > 0
        references allocation_id -> allocations.id
        index ix_disbursements_allocation_id_created_at: allocation_id, created_at
        """,
    )
    create_table(
        "ledger_entries",
        """
        id                     serial pk
        kind                   str16  ix
        at                     time
        effective_on           date   null
        actor                  str255
        actor_org              str64  null
        request_id             str128 null
        tranche_id             uuid   ix
        envelope_code          str64  ix
        year                   int
        operator_code          str64  ix
        allocation_id          uuid   null ix
        disbursement_id        uuid   null
        territory_code         str16  null ix
        amount_delta_cents     bigint
        committed_delta_cents  bigint
        disbursed_delta_cents  bigint
        note                   text
        is_demo                bool
        references allocation_id -> allocations.id
        references disbursement_id -> disbursements.id
        references tranche_id -> tranches.id
        """,
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

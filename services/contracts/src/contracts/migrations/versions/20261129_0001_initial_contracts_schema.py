"""initial contracts schema: contracts, signatories, fiches-actions, amendments, history"""

from tdi_kit.migration_steps import create_idempotency_keys, create_table, drop_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_idempotency_keys()
    create_table(
        "territories",
        """
        code        str16  pk
        name        str200
        phase       int
        checked_at  time
        """,
    )
    create_table(
        "contracts",
        """
        id               uuid   pk
        territory_code   str16  ix
        phase            int    ix
        kind             str16
        title            str300
        enjeux           json
        start_year       int    null
        end_year         int    null
        status           str16  ix
        signed_on        date   null
        signature_place  str200 null
        notes            text   null
        is_demo          bool   ix
        sources          json
        live_slot        str40  null
        title_key        str300 ix
        search_text      text
        versioned
        stored_document
        references territory_code -> territories.code
        unique live_slot
        index updated_at
        index ix_contracts_territory_code_kind_id: territory_code, kind, id
        """,
    )
    create_table(
        "territory_regions",
        """
        territory_code  str16  pk
        region_code     str3   pk ix
        region_name     str100
        references territory_code -> territories.code
        """,
    )
    create_table(
        "actions",
        """
        id                       uuid   pk
        contract_id              uuid   null ix
        territory_code           str16  ix
        phase                    int    ix
        code                     str32
        title                    str300
        description              text   null
        axis                     str16  null ix
        priority                 str32  null ix
        owner_organisation_code  str64  null
        owner_name               str200 null
        owner_siren              str9   null
        status                   str16  ix
        budget_cents             bigint null
        is_demo                  bool   ix
        sources                  json
        title_key                str300 ix
        search_text              text
        versioned
        stored_document
        references contract_id -> contracts.id
        references territory_code -> territories.code
        unique contract_id, code
        index updated_at
        index ix_actions_territory_code_code_id: territory_code, code, id
        """,
    )
    create_table(
        "amendments",
        """
        id           uuid   pk
        contract_id  uuid   ix
        number       int
        title        str300
        reason       text   null
        signed_on    date   null
        version      int
        changes      json
        created_by   str255
        created_at   time
        references contract_id -> contracts.id
        unique contract_id, number
        """,
    )
    create_table(
        "contract_events",
        """
        id                int    pk autoincrement
        contract_id       uuid
        version           int
        kind              str32
        summary           str300
        amendment_number  int    null
        changes           json
        by_sub            str255
        by_org            str64  null
        at                time
        snapshot          text
        references contract_id -> contracts.id
        unique contract_id, version
        """,
    )
    create_table(
        "signatories",
        """
        id                 uuid   pk
        contract_id        uuid   ix
        position           int
        role               str32
        organisation_code  str64  null
        siren              str9   null
        name               str200 null
        signed_on          date   null
        references contract_id -> contracts.id
        """,
    )
    create_table(
        "action_themes",
        """
        action_id  uuid   pk
        theme      str48  pk ix
        references action_id -> actions.id
        """,
    )
    create_table(
        "indicators",
        """
        id         uuid   pk
        action_id  uuid   ix
        position   int
        label      str200
        unit       str40  null
        target     float  null
        actual     float  null
        as_of      date   null
        references action_id -> actions.id
        """,
    )
    create_table(
        "milestones",
        """
        id         uuid   pk
        action_id  uuid   ix
        position   int
        label      str200
        due_on     date   null
        done_on    date   null
        references action_id -> actions.id
        """,
    )
    create_table(
        "plan_lines",
        """
        id             uuid   pk
        action_id      uuid   ix
        position       int
        financer_code  str64  null ix
        financer_name  str200 null
        label          str200 null
        amount_cents   bigint
        allocation_id  uuid   null
        references action_id -> actions.id
        """,
    )


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

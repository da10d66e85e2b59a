"""money model: funders, nesting, periods, theme sets, reported figures


- `envelopes.part_of`: an envelope can be part of another (Rebond industriel within phase 2);
- `envelopes.theme_set`: the envelope's themes as one key, filled here from `envelope_themes`;
- `tranches.last_year`: a tranche whose money covers several years (no annual split public);
- `ledger_entries.funder_code`: who put in the money of an endowment;
- `reported_figures`: figures of the public record, kept apart from the ledger.

SQLite cannot add a foreign key or a CHECK to an existing table without copying it, and copying
`envelopes` or `tranches` would trip the foreign keys that point at them (and the ledger's
triggers): there the new column carries its REFERENCES inline, and the tranche period is checked
by the service only.
"""

import sqlalchemy as sa
from alembic import op

from tdi_kit.migration_steps import create_table, indexes, join_codes

revision, down_revision = "0003", "0002"
branch_labels = depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "ALTER TABLE envelopes ADD COLUMN part_of VARCHAR(64) "
            "CONSTRAINT fk_envelopes_part_of_envelopes REFERENCES envelopes (code)"
        )
    else:
        op.add_column("envelopes", sa.Column("part_of", sa.String(length=64), nullable=True))
        op.create_foreign_key(
            op.f("fk_envelopes_part_of_envelopes"), "envelopes", "envelopes", ["part_of"], ["code"]
        )
    indexes("envelopes", "part_of")
    op.add_column(
        "envelopes",
        sa.Column("theme_set", sa.String(length=800), nullable=False, server_default=""),
    )
    join_codes(
        "envelopes", "theme_set", link="envelope_themes", owner="envelope_code", code="theme"
    )

    op.add_column("tranches", sa.Column("last_year", sa.Integer(), nullable=True))
    if not sqlite:
        op.create_check_constraint(
            op.f("ck_tranches_period"), "tranches", "last_year IS NULL OR last_year > year"
        )

    # A plain ADD COLUMN: the ledger is not copied, so its append-only triggers stay.
    op.add_column("ledger_entries", sa.Column("funder_code", sa.String(length=64), nullable=True))
    indexes("ledger_entries", "funder_code")

    create_table(
        "reported_figures",
        """
        code             str64  pk
        label            str300
        measure          str16  ix
        value_cents      bigint null
        count            int    null
        as_of            str10  null
        envelope_code    str64  null ix
        convention_code  str64  null ix
        operator_code    str64  null ix
        source_title     str500
        source_url       str500 null
        caveat           text
        is_demo          bool
        version          int
        updated_at       time
        check one_value: (value_cents IS NULL) <> (count IS NULL)
        references envelope_code -> envelopes.code
        references convention_code -> conventions.code
        """,
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_table("reported_figures")
    op.drop_index(op.f("ix_ledger_entries_funder_code"), table_name="ledger_entries")
    op.drop_column("ledger_entries", "funder_code")
    if not sqlite:
        op.drop_constraint(op.f("ck_tranches_period"), "tranches", type_="check")
    op.drop_column("tranches", "last_year")
    op.drop_index(op.f("ix_envelopes_part_of"), table_name="envelopes")
    if sqlite:
        # SQLite drops a column that holds a foreign key only by copying the table.
        with op.batch_alter_table("envelopes", recreate="always") as batch:
            batch.drop_column("theme_set")
            batch.drop_column("part_of")
        return
    op.drop_column("envelopes", "theme_set")
    op.drop_constraint(op.f("fk_envelopes_part_of_envelopes"), "envelopes", type_="foreignkey")
    op.drop_column("envelopes", "part_of")

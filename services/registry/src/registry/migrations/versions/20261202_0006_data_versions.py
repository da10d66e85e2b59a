"""data versions: a counter bumped by the database in every transaction that changes the
register (territories, programme phases and milestones, Régions), and the index that sorts a
phase's territories by name
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0006", "0005"
branch_labels = depends_on = None

# What `registry.versions.REGISTER` counts: the tables the programme's answer and the
# territories' documents are computed from.
COUNTED = ("territories", "programme_phases", "programme_milestones", "regions")
# A value never given before, not `version + 1`: a transaction rolled back (a test's) could
# otherwise give the next one a version an answer was already kept under. PostgreSQL draws it
# from a sequence (never reused, even by a rollback); SQLite from its 64-bit random().
BUMP = {
    "postgresql": "UPDATE data_versions SET version = nextval('data_versions_seq') "
    "WHERE name = 'register'",
    "sqlite": "UPDATE data_versions SET version = random() WHERE name = 'register'",
}


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.execute("INSERT INTO data_versions (name, version) VALUES ('register', 1)")
    op.create_index(
        op.f("ix_territories_phase_name_key"), "territories", ["phase", "name_key", "code"]
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE SEQUENCE data_versions_seq START 2")
        # In the statement's transaction, as on SQLite: a later read of the same transaction
        # (a test's, whose commits only release savepoints) sees its own change too. Writers
        # of territories then queue on the counter's row until they commit; each request
        # writes one territory, so none waits for a row another waiting writer holds.
        op.execute(
            "CREATE FUNCTION bump_register_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP[dialect]}; RETURN NULL; END $$"
        )
        for table in COUNTED:
            op.execute(
                f"CREATE TRIGGER bump_register_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_register_version()"
            )
        return
    # SQLite: one writer at a time (writes begin IMMEDIATE); a trigger is for each row there.
    for table in COUNTED:
        for change in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bump_register_version_{table}_{change.lower()} AFTER {change} "
                f"ON {table} BEGIN {BUMP[dialect]}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED:
            op.execute(f"DROP TRIGGER bump_register_version ON {table}")
        op.execute("DROP FUNCTION bump_register_version()")
        op.execute("DROP SEQUENCE data_versions_seq")
    else:
        for table in COUNTED:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER bump_register_version_{table}_{change}")
    op.drop_index(op.f("ix_territories_phase_name_key"), table_name="territories")
    op.drop_table("data_versions")

"""data versions: a counter the database changes in every transaction that changes the money's
record, under which the envelopes' and allocations' pages are kept (`tdi_kit.dataversions`)

Every table a list's answer is computed from is counted (the events and idempotency records
aside): a page is served from memory until the next committed change, by any process.
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0010", "0009"
branch_labels = depends_on = None

COUNTED = (
    "conventions",
    "envelopes",
    "envelope_themes",
    "tranches",
    "allocations",
    "allocation_regions",
    "disbursements",
    "ledger_entries",
    "balance_sums",
    "reported_figures",
    "organisations",
)
# A value never given before, not `version + 1`: a transaction rolled back could otherwise give
# the next one a version an answer was already kept under. PostgreSQL draws it from a sequence
# (never reused, even by a rollback); SQLite from its 64-bit random().
SQLITE_BUMP = "UPDATE data_versions SET version = random() WHERE name = 'funding'"
# PostgreSQL: at commit (a deferred constraint trigger), once per transaction. A money write
# locks tranches, allocations and sums in key order so that writers queue and never deadlock;
# were the counter's row changed at the first write, a writer holding it could wait for a row
# another writer locked before queueing for the counter. Changed at commit, after every other
# lock, it is taken last by everyone. `SET CONSTRAINTS ALL IMMEDIATE` (a test's rolled-back
# transaction, `tdi_kit.testing.rolled_back`) changes it at the end of each statement instead.
# The first of a commit's (or statement's) events changes it; the others find it changed.
PG_FUNCTION = """
CREATE FUNCTION bump_funding_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tdi.funding_version_bumped', true) IS DISTINCT FROM
            statement_timestamp()::text THEN
        UPDATE data_versions SET version = nextval('data_versions_seq') WHERE name = 'funding';
        PERFORM set_config('tdi.funding_version_bumped', statement_timestamp()::text, true);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.execute("INSERT INTO data_versions (name, version) VALUES ('funding', 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE data_versions_seq START 2")
        op.execute(PG_FUNCTION)
        for table in COUNTED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER bump_funding_version AFTER INSERT OR UPDATE OR "
                f"DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION bump_funding_version()"
            )
        return
    # SQLite: one writer at a time (writes begin IMMEDIATE); a trigger is for each row there.
    for table in COUNTED:
        for change in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bump_funding_version_{table}_{change.lower()} AFTER {change} "
                f"ON {table} BEGIN {SQLITE_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED:
            op.execute(f"DROP TRIGGER bump_funding_version ON {table}")
        op.execute("DROP FUNCTION bump_funding_version()")
        op.execute("DROP SEQUENCE data_versions_seq")
    else:
        for table in COUNTED:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER bump_funding_version_{table}_{change}")
    op.drop_table("data_versions")

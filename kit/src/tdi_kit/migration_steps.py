"""What every service's migrations write alike, called from inside a migration script (Alembic's
`op` is bound there): the idempotency table, the served records' columns, a table declared
one line a column (`create_table`), the common steps.

Each produces the very schema its callers wrote out before: change one only through a new
migration, never in place (`tests/test_migrations.py` compares every service's models with the
schema its migrations build).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa


def create_idempotency_keys() -> None:
    """The table `tdi_kit.idempotency` replays answers from, as each first migration made it."""
    from alembic import op

    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
    )


_ANSWER_COLUMNS = (
    ("status_code", sa.Integer()),
    ("response_headers", sa.Text()),
    ("response_body", sa.LargeBinary()),
)


def idempotency_owner_upgrade() -> None:
    """Keys owned by a digest of issuer, subject and organisation, rows holding only final
    answers with the scopes of the token that got them (every service's migration 0002).

    Rows of the old kind are deleted: keyed on the subject alone, they could be replayed to
    another organisation's caller.
    """
    from alembic import op

    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default=""))
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=False)
    with op.batch_alter_table("idempotency_keys") as batch:
        # The default only filled the (emptied) table; the code always names the scopes.
        batch.alter_column("scopes", existing_type=sa.Text(), server_default=None)


def idempotency_owner_downgrade() -> None:
    from alembic import op

    # Old-style rows are keyed on the subject alone: none of the new ones can be kept.
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.drop_column("scopes")


def versioned(*, now_by_default: bool = False) -> list[sa.Column[Any]]:
    """A served record's `version`, `created_at` and `updated_at` columns, in that order
    (`now_by_default`: the times default to the database's `now()`, as the registry's first
    tables were made)."""
    default = sa.func.now() if now_by_default else None
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=default, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=default, nullable=False),
    ]


def stored_document() -> list[sa.Column[Any]]:
    """The `document` and `etag` columns of `tdi_kit.db.StoredDocument`, in that order."""
    return [
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
    ]


def indexes(table: str, *columns: str) -> None:
    """One index per column, `ix_<table>_<column>`, as a model's `index=True` declares it."""
    from alembic import op

    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def drop_tables(*tables: str) -> None:
    """Drop `tables` in the order given (dependents first), their indexes with them."""
    from alembic import op

    for table in tables:
        op.drop_table(table)


def rename_codes(table: str, owner: str, column: str, renamed: dict[str, str]) -> None:
    """Rename codes in a link table keyed on (`owner`, `column`): each `old` becomes `new`, an
    owner that held both keeping one row (a vocabulary's renamed codes, in every service that
    links records to them)."""
    from alembic import op

    connection = op.get_bind()
    for old, new in renamed.items():
        connection.execute(
            sa.text(
                f"DELETE FROM {table} WHERE {column} = :old AND {owner} IN "
                f"(SELECT {owner} FROM {table} WHERE {column} = :new)"
            ),
            {"old": old, "new": new},
        )
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
            {"old": old, "new": new},
        )


def join_codes(table: str, column: str, *, link: str, owner: str, code: str) -> None:
    """Set `table.column` of each row that `link` names (by `link.owner`, matching
    `table.code`) to the codes `link.code` holds for it, sorted and joined by commas (a record's
    set of codes as one key, as the service writes it)."""
    from alembic import op

    connection = op.get_bind()
    held: dict[str, set[str]] = {}
    for key, value in connection.execute(sa.text(f"SELECT {owner}, {code} FROM {link}")):
        held.setdefault(key, set()).add(value)
    for key, values in held.items():
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :codes WHERE code = :key"),
            {"codes": ",".join(sorted(values)), "key": key},
        )


def foreign_key(
    table: str, column: str, target: str, *, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    """`table.column` references `target` (`"departments.code"`), under the naming convention's
    name (`fk_<table>_<column>_<target table>`), as a model's `ForeignKey` declares it."""
    from alembic import op

    name = op.f(f"fk_{table}_{column}_{target.split('.')[0]}")
    return sa.ForeignKeyConstraint([column], [target], name=name, ondelete=ondelete)


# A table as its migration declares it: one line a column, `<name> <type> [flags]`, then its
# constraints, one a line. Frozen like the migrations that call it: what a spec means never
# changes (a new meaning takes a new word), or the schemas they built would.
_TYPES: dict[str, Callable[[], Any]] = {
    "text": sa.Text,
    "int": sa.Integer,
    "bigint": sa.BigInteger,
    "float": sa.Float,
    "bool": sa.Boolean,
    "date": sa.Date,
    "time": lambda: sa.DateTime(timezone=True),
    "uuid": sa.Uuid,
    "json": sa.JSON,
    "bytes": sa.LargeBinary,
    # A 64-bit counter, SQLite's rowid there (it only autoincrements an INTEGER key).
    "serial": lambda: sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
}
_FLAGS = {"null", "pk", "ix", "now", "autoincrement", "no-autoincrement"}


def _column(name: str, kind: str, flags: set[str]) -> sa.Column[Any]:
    unknown = flags - _FLAGS
    if unknown:
        raise ValueError(f"column {name}: unknown flags {sorted(unknown)}")
    column_type = sa.String(length=int(kind[3:])) if kind.startswith("str") else _TYPES[kind]()
    options: dict[str, Any] = {"nullable": "null" in flags}
    if "now" in flags:
        options["server_default"] = sa.func.now()
    if kind == "serial" or "autoincrement" in flags:
        options["autoincrement"] = True
    elif "no-autoincrement" in flags:
        options["autoincrement"] = False
    return sa.Column(name, column_type, **options)


def create_table(table: str, spec: str) -> None:
    """Create `table` as `spec` declares it, then its indexes.

    Columns, one a line, in order: `<name> <type> [flags]`; types `str<length>`, `text`, `int`,
    `bigint`, `float`, `bool`, `date`, `time` (with time zone), `uuid`, `json`, `bytes`,
    `serial`; flags `null` (nullable), `pk` (in the primary key, `pk_<table>`, in column order),
    `ix` (`ix_<table>_<column>`), `now` (defaults to the database's `now()`), `autoincrement`,
    `no-autoincrement`. Where a column stands, `versioned` (or `versioned now`) and
    `stored_document` stand for the columns these steps above return. Then, one a line:
    - `check <name>: <SQL>`: `ck_<table>_<name>`;
    - `references <column> -> <table>.<column> [cascade]`: as `foreign_key` names it
      (`cascade`: ON DELETE CASCADE);
    - `unique <column>, ...`: `uq_<table>_<columns>`;
    - `index <column>`: `ix_<table>_<column>` (as the flag `ix`, for a column of a group);
    - `index <name>: <column>, ...`: an index on several columns.
    The constraints are written checks first, then references, then unique ones, each kind in
    the order given (the order `CREATE TABLE` lists them in).
    """
    from alembic import op

    columns: list[sa.Column[Any]] = []
    checks: list[sa.Constraint] = []
    references: list[tuple[str, str, str | None]] = []
    uniques: list[list[str]] = []
    primary: list[str] = []
    indexed: list[str] = []
    composite: list[tuple[str, list[str]]] = []
    for line in filter(None, (raw.strip() for raw in spec.splitlines())):
        word, _, rest = line.partition(" ")
        if word == "check":
            name, _, condition = rest.partition(":")
            name = op.f(f"ck_{table}_{name.strip()}")
            checks.append(sa.CheckConstraint(condition.strip(), name=name))
        elif word == "references":
            column, _, target = rest.partition("->")
            target, *cascade = target.split()
            references.append((column.strip(), target, "CASCADE" if cascade else None))
        elif word == "unique":
            uniques.append([c.strip() for c in rest.split(",")])
        elif word == "index":
            name, several, names = rest.partition(":")
            if several:
                composite.append((name.strip(), [c.strip() for c in names.split(",")]))
            else:
                indexed.append(name.strip())
        elif word == "versioned":
            columns.extend(versioned(now_by_default=rest == "now"))
        elif word == "stored_document":
            columns.extend(stored_document())
        else:
            kind, *flags = rest.split()
            columns.append(_column(word, kind, set(flags)))
            if "pk" in flags:
                primary.append(word)
            if "ix" in flags:
                indexed.append(word)
    constraints: list[sa.Constraint] = [
        *checks,
        *(foreign_key(table, c, target, ondelete=d) for c, target, d in references),
        sa.PrimaryKeyConstraint(*primary, name=op.f(f"pk_{table}")),
        *(sa.UniqueConstraint(*u, name=op.f(f"uq_{table}_{'_'.join(u)}")) for u in uniques),
    ]
    op.create_table(table, *columns, *constraints)
    indexes(table, *indexed)
    for index, indexed_together in composite:
        op.create_index(index, table, indexed_together, unique=False)


def create_data_versions() -> None:
    """The counters answers are kept under (`tdi_kit.dataversions`), and on PostgreSQL the
    sequence their values are drawn from: a value never given before, not `version + 1`, which a
    rolled-back transaction could give again to an answer already kept under it."""
    from alembic import op

    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE data_versions_seq START 2")


def drop_data_versions() -> None:
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE data_versions_seq")
    op.drop_table("data_versions")


def add_data_version(name: str, tables: tuple[str, ...]) -> None:
    """`data_versions.<name>`, given a new value in the transaction of every change to `tables`.

    PostgreSQL: at commit (a deferred constraint trigger), once per transaction: a write that
    locks rows in key order so that writers queue and never deadlock would otherwise hold the
    counter's row from its first change on, and could wait for a row another writer locked
    before that writer queued for the counter; changed at commit, after every other lock, the
    counter is everyone's last. `SET CONSTRAINTS ALL IMMEDIATE` (a test's rolled-back
    transaction, `tdi_kit.testing.rolled_back`) changes it at the end of each statement
    instead. The first of a commit's (or statement's) row events changes it, the others find
    it changed (a transaction-local setting naming the statement). SQLite: for each row (its
    one writer at a time never waits on another's row); from its 64-bit random()."""
    from alembic import op

    if (
        not op.get_bind()
        .execute(sa.text("SELECT 1 FROM data_versions WHERE name = :name"), {"name": name})
        .first()
    ):
        op.execute(f"INSERT INTO data_versions (name, version) VALUES ('{name}', 1)")
    if op.get_bind().dialect.name == "postgresql":
        flag = f"tdi.{name}_version_bumped"
        op.execute(
            f"CREATE FUNCTION bump_{name}_version_at_commit() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF current_setting('{flag}', true) IS DISTINCT FROM statement_timestamp()::text "
            f"THEN UPDATE data_versions SET version = nextval('data_versions_seq') "
            f"WHERE name = '{name}'; "
            f"PERFORM set_config('{flag}', statement_timestamp()::text, true); "
            "END IF; RETURN NULL; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER bump_{name}_version_at_commit AFTER INSERT OR "
                f"UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION bump_{name}_version_at_commit()"
            )
        return
    for table in tables:
        for change in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER bump_{name}_version_{table}_{change} AFTER "
                f"{change.upper()} ON {table} BEGIN UPDATE data_versions SET version = "
                f"random() WHERE name = '{name}'; END"
            )


def drop_data_version(name: str, tables: tuple[str, ...], *, keep_row: bool = False) -> None:
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER bump_{name}_version_at_commit ON {table}")
        op.execute(f"DROP FUNCTION bump_{name}_version_at_commit()")
    else:
        for table in tables:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER bump_{name}_version_{table}_{change}")
    if not keep_row:
        op.execute(f"DELETE FROM data_versions WHERE name = '{name}'")

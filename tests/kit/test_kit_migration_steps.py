"""`tdi_kit.migration_steps.create_table`: a table spec builds the table a model declares (column
types, nullability, keys and every constraint under the naming convention), on both databases.

The services' migrations are checked whole by `tests/test_migrations.py` (their schema against
their models); here the spec's words are checked one by one."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from tdi_kit import testing
from tdi_kit.db import NAMING_CONVENTION, create_engine
from tdi_kit.migration_steps import create_table, join_codes

SPEC = """
    code        str16  pk
    kind        str8   pk ix
    amount      bigint null
    parent      str16  null
    made_at     time   now
    versioned
    stored_document
    check positive: amount > 0
    references parent -> owners.code cascade
    unique parent, kind
    index updated_at
    index ix_things_kind_code: kind, code
"""


def _migrate(connection: sa.Connection, step: Any) -> None:
    context = MigrationContext.configure(
        connection, opts={"target_metadata": sa.MetaData(naming_convention=NAMING_CONVENTION)}
    )
    with Operations.context(context):
        step()


def _build(connection: sa.Connection) -> None:
    create_table("owners", "code str16 pk\ncodes text null")
    create_table("things", SPEC)


async def test_a_table_spec_builds_columns_keys_and_named_constraints() -> None:
    async with testing.test_database("migration_steps") as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(lambda c: _migrate(c, lambda: _build(c)))

                def read(c: sa.Connection) -> dict[str, Any]:
                    found = sa.inspect(c)
                    return {
                        "columns": [
                            (x["name"], type(x["type"]).__name__, x["nullable"])
                            for x in found.get_columns("things")
                        ],
                        "defaults": {
                            x["name"]: x["default"] is not None for x in found.get_columns("things")
                        },
                        "pk": found.get_pk_constraint("things"),
                        "fks": found.get_foreign_keys("things"),
                        "unique": found.get_unique_constraints("things"),
                        "checks": found.get_check_constraints("things"),
                        # PostgreSQL lists a unique constraint's own index too.
                        "indexes": {
                            x["name"]: x["column_names"]
                            for x in found.get_indexes("things")
                            if "duplicates_constraint" not in x
                        },
                    }

                schema = await connection.run_sync(read)
        finally:
            await engine.dispose()
    names = [(n, nullable) for n, _, nullable in schema["columns"]]
    assert names == [
        ("code", False),
        ("kind", False),
        ("amount", True),
        ("parent", True),
        ("made_at", False),
        ("version", False),
        ("created_at", False),
        ("updated_at", False),
        ("document", False),
        ("etag", False),
    ]
    assert [t for _, t, _ in schema["columns"]][2] in {"BIGINT", "BigInteger"}
    assert schema["defaults"]["made_at"] and not schema["defaults"]["created_at"]
    assert schema["pk"]["constrained_columns"] == ["code", "kind"]
    assert schema["pk"]["name"] in {"pk_things", None}  # SQLite does not report it
    [fk] = schema["fks"]
    assert (fk["name"], fk["constrained_columns"], fk["referred_table"]) == (
        "fk_things_parent_owners",
        ["parent"],
        "owners",
    )
    assert fk["options"].get("ondelete") == "CASCADE"
    assert [(u["name"], u["column_names"]) for u in schema["unique"]] == [
        ("uq_things_parent_kind", ["parent", "kind"])
    ]
    assert [c["name"] for c in schema["checks"]] == ["ck_things_positive"]
    assert schema["indexes"] == {
        "ix_things_kind": ["kind"],
        "ix_things_updated_at": ["updated_at"],
        "ix_things_kind_code": ["kind", "code"],
    }


async def test_join_codes_writes_each_owners_sorted_codes() -> None:
    async with testing.test_database("migration_join") as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:

                def build(c: sa.Connection) -> None:
                    _build(c)
                    c.execute(sa.text("INSERT INTO owners (code) VALUES ('a'), ('b'), ('c')"))
                    c.execute(
                        sa.text(
                            "CREATE TABLE links (owner VARCHAR(16), code VARCHAR(16), "
                            "PRIMARY KEY (owner, code))"
                        )
                    )
                    c.execute(
                        sa.text(
                            "INSERT INTO links VALUES ('a', 'mobilite'), ('a', 'friche'), "
                            "('a', 'foncier'), ('b', 'numerique')"
                        )
                    )
                    join_codes("owners", "codes", link="links", owner="owner", code="code")

                await connection.run_sync(lambda c: _migrate(c, lambda: build(c)))
                rows = (await connection.execute(sa.text("SELECT code, codes FROM owners"))).all()
        finally:
            await engine.dispose()
    # An owner with no links is left as it was.
    assert sorted(rows) == [("a", "foncier,friche,mobilite"), ("b", "numerique"), ("c", None)]


def test_a_spec_word_it_does_not_know_is_refused() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection, pytest.raises(ValueError, match="unknown flags"):
        _migrate(connection, lambda: create_table("things", "code str16 pk unique"))

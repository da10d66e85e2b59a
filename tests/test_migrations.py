"""Each service's migrations build its models' schema, on SQLite and PostgreSQL, down to base and
up again, from one head; and the rules the database keeps against racing writers are there."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit import migrations, testing
from tdi_kit.db import create_engine


@dataclass(frozen=True)
class Schema:
    service: str
    # (table, columns) of unique constraints the migrations must create
    unique: tuple[tuple[str, list[str]], ...] = ()

    @property
    def script(self) -> str:
        return import_module(f"{self.service}.main").MIGRATIONS

    @property
    def metadata(self) -> Any:
        return import_module(f"{self.service}.models").Base.metadata


SCHEMAS = [
    # "One territory per phase for a groupement" is the database's rule too.
    Schema("registry", (("territory_members", ["phase", "siren"]),)),
    Schema("funding"),
    Schema(
        "contracts",
        (
            ("contracts", ["live_slot"]),
            ("contract_events", ["contract_id", "version"]),
            ("amendments", ["contract_id", "number"]),
        ),
    ),
]
by_service = pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.service)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _unique_constraints(engine: AsyncEngine, table: str) -> list[list[str]]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_unique_constraints(table))
    return sorted(sorted(u["column_names"]) for u in found)


@by_service
async def test_the_migrations_build_the_schema_down_to_base_and_up_again(schema: Schema) -> None:
    script, metadata = schema.script, schema.metadata
    async with testing.test_database(f"{schema.service}_migrations") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, script)
            assert await migrations.current_revisions(engine) == migrations.heads(script)
            assert await _tables(engine) == {*metadata.tables, "alembic_version"}
            assert await migrations.drift(engine, metadata) == []
            for table, columns in schema.unique:
                assert columns in await _unique_constraints(engine, table), table

            await migrations.downgrade(engine, script, "base")
            assert await _tables(engine) == {"alembic_version"}
            assert await migrations.current_revisions(engine) == set()

            await migrations.upgrade(engine, script)
            assert await _tables(engine) == {*metadata.tables, "alembic_version"}
            assert await migrations.drift(engine, metadata) == []
        finally:
            await engine.dispose()


@by_service
def test_there_is_one_head(schema: Schema) -> None:
    assert len(migrations.heads(schema.script)) == 1

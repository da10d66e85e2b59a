"""Each service's migrations build its models' schema, on SQLite and PostgreSQL, down to base and
up again, from one head; and the rules the database keeps against racing writers are there."""

from __future__ import annotations

import asyncio
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
            assert await _tables(engine) == {*metadata.tables, *migrations.KIT_TABLES}
            assert await migrations.drift(engine, metadata) == []
            for table, columns in schema.unique:
                assert columns in await _unique_constraints(engine, table), table

            await migrations.downgrade(engine, script, "base")
            assert await _tables(engine) == set(migrations.KIT_TABLES)
            assert await migrations.current_revisions(engine) == set()

            await migrations.upgrade(engine, script)
            assert await _tables(engine) == {*metadata.tables, *migrations.KIT_TABLES}
            assert await migrations.drift(engine, metadata) == []
        finally:
            await engine.dispose()


@by_service
def test_there_is_one_head(schema: Schema) -> None:
    assert len(migrations.heads(schema.script)) == 1


@by_service
async def test_two_concurrent_migration_runs_on_a_fresh_database_both_succeed(
    schema: Schema,
) -> None:
    """Every replica or job may start the migrations: the migration lock lets one work, the
    other then finds the schema at its head (without it, one failed on a unique violation)."""
    async with testing.test_database(f"{schema.service}_race") as url:
        engines = [create_engine(url), create_engine(url)]
        try:
            await asyncio.gather(*(migrations.upgrade(e, schema.script) for e in engines))
            assert await migrations.current_revisions(engines[0]) == migrations.heads(schema.script)
            assert await migrations.drift(engines[0], schema.metadata) == []
        finally:
            for engine in engines:
                await engine.dispose()


async def test_the_migrate_job_waits_for_the_database_then_stops_naming_the_last_error() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    engine = create_engine(
        "postgresql+asyncpg://job:secret@127.0.0.1:9/nowhere", connect_timeout=0.5
    )
    try:
        with pytest.raises(migrations.DatabaseNotReady) as stopped:
            await migrations.wait_for_database(engine, within=10, clock=lambda: now[0], sleep=sleep)
    finally:
        await engine.dispose()
    message = str(stopped.value)
    # A bounded back-off: 0.5, 1, 2, 4, then what is left of the 10 s.
    assert slept == [0.5, 1.0, 2.0, 4.0, 2.5]
    assert "did not answer within 10 s (6 attempts)" in message
    assert "last error: ConnectionRefusedError" in message or "last error: OSError" in message
    assert "secret" not in message


async def test_the_migrate_job_goes_on_as_soon_as_the_database_answers() -> None:
    async with testing.test_database("wait") as url:
        engine = create_engine(url)
        try:
            assert await migrations.wait_for_database(engine, within=5) == 1
        finally:
            await engine.dispose()

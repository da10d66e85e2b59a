"""The migrations build the models' schema, on SQLite and PostgreSQL, down and up again."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.main import MIGRATIONS
from contracts.models import Base
from tdi_kit import migrations, testing
from tdi_kit.db import create_engine


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _unique_constraints(engine: AsyncEngine, table: str) -> list[list[str]]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_unique_constraints(table))
    return sorted(sorted(u["column_names"]) for u in found)


async def test_the_migrations_build_the_schema_down_to_base_and_up_again() -> None:
    async with testing.test_database("contracts_migrations") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, MIGRATIONS)
            assert await migrations.current_revisions(engine) == migrations.heads(MIGRATIONS)
            assert await _tables(engine) == {*Base.metadata.tables, "alembic_version"}
            assert await migrations.drift(engine, Base.metadata) == []
            # The rules the database keeps even against racing writers.
            assert ["live_slot"] in await _unique_constraints(engine, "contracts")
            assert ["contract_id", "version"] in await _unique_constraints(
                engine, "contract_events"
            )
            assert ["contract_id", "number"] in await _unique_constraints(engine, "amendments")

            await migrations.downgrade(engine, MIGRATIONS, "base")
            assert await _tables(engine) == {"alembic_version"}
            assert await migrations.current_revisions(engine) == set()

            await migrations.upgrade(engine, MIGRATIONS)
            assert await _tables(engine) == {*Base.metadata.tables, "alembic_version"}
            assert await migrations.drift(engine, Base.metadata) == []
        finally:
            await engine.dispose()


async def test_there_is_one_head() -> None:
    assert len(migrations.heads(MIGRATIONS)) == 1

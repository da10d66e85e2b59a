"""The migrations build the models' schema, on SQLite and PostgreSQL, down and up again, and the
database itself keeps the ledger append-only."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from funding.main import MIGRATIONS
from funding.models import Base
from tdi_kit import migrations, testing
from tdi_kit.db import create_engine


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_the_migrations_build_the_schema_down_to_base_and_up_again() -> None:
    async with testing.test_database("funding_migrations") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, MIGRATIONS)
            assert await migrations.current_revisions(engine) == migrations.heads(MIGRATIONS)
            assert await _tables(engine) == {*Base.metadata.tables, "alembic_version"}
            assert await migrations.drift(engine, Base.metadata) == []

            await migrations.downgrade(engine, MIGRATIONS, "base")
            assert await _tables(engine) == {"alembic_version"}

            await migrations.upgrade(engine, MIGRATIONS)
            assert await migrations.drift(engine, Base.metadata) == []
        finally:
            await engine.dispose()


async def test_there_is_one_head() -> None:
    assert len(migrations.heads(MIGRATIONS)) == 1


async def test_the_database_refuses_to_change_or_remove_a_ledger_entry(funding_url: str) -> None:
    engine = create_engine(funding_url)
    try:
        for statement in (
            "UPDATE ledger_entries SET amount_delta_cents = 0",
            "DELETE FROM ledger_entries",
        ):
            async with engine.connect() as connection:
                with pytest.raises(DBAPIError, match="append-only"):
                    await connection.execute(text(statement))
                await connection.rollback()
    finally:
        await engine.dispose()
